// swiglu.cu: the SwiGLU gate, h = silu(g) * u with [g | u] = gu (HRM-SPEC 1.5).
//
// Shapes: gu, dgu (n, 2*inter), each row [gate | up]; h, dh (n, inter).
//   swiglu_forward:  h = silu(g) * u, silu(g) = g / (1 + exp(-g))                        (=)
//   swiglu_backward: dg = dh * u * sigmoid(g) * (1 + g * (1 - sigmoid(g))),
//                    du = dh * silu(g)                                                   (=)
// exp(-g) overflows to +inf for very negative g, giving silu = -0 and sigmoid = 0, never NaN.
// fp32 arithmetic; bf16 rounds where torch's bf16 ops do: silu(g) before the product with u, and in
// the backward dh * u before the silu derivative and silu(g) before du (fp32: not at all). One thread per (row, j); the full-precision exp
// (not __expf), as the CPU's is within a few ulp.
#include <type_traits>

#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm {
namespace {

using cuda::from_f32;
using cuda::i64;
using cuda::to_f32;

template <class T> __global__ void swiglu_forward_kernel(T* h, const T* gu, i64 inter, i64 count) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const i64 r = i / inter, j = i % inter;
  const float g = to_f32(gu[r * 2 * inter + j]), u = to_f32(gu[r * 2 * inter + inter + j]);
  h[i] = from_f32<T>(cuda::round_as<T>(g / (1.0f + exp(-g))) * u);
}

template <class T> __global__ void swiglu_backward_kernel(T* dgu, const T* dh, const T* gu, i64 inter, i64 count) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const i64 r = i / inter, j = i % inter;
  const float g = to_f32(gu[r * 2 * inter + j]), u = to_f32(gu[r * 2 * inter + inter + j]), d = to_f32(dh[i]);
  const float sig = 1.0f / (1.0f + exp(-g));
  dgu[r * 2 * inter + j] = from_f32<T>(cuda::round_as<T>(d * u) * sig * (1.0f + g * (1.0f - sig)));
  if constexpr (std::is_same_v<T, float>)
    dgu[r * 2 * inter + inter + j] = d * g * sig;
  else  // d(silu(g) * u)/du: silu(g) (here g sigmoid(g)) rounded as the forward rounds it
    dgu[r * 2 * inter + inter + j] = from_f32<T>(d * cuda::round_as<T>(g * sig));
}

}  // namespace

template <class T> void CudaOps::swiglu_forward(T* h, const T* gu, i64 n, i64 inter) {
  const i64 count = n * inter;
  if (count == 0) return;
  swiglu_forward_kernel<<<cuda::grid_for(count), cuda::kThreads, 0, cuda::stream()>>>(h, gu, inter, count);
  HRM_CUDA_CHECK_LAUNCH(swiglu_forward_kernel);
}

template <class T> void CudaOps::swiglu_backward(T* dgu, const T* dh, const T* gu, i64 n, i64 inter) {
  const i64 count = n * inter;
  if (count == 0) return;
  swiglu_backward_kernel<<<cuda::grid_for(count), cuda::kThreads, 0, cuda::stream()>>>(dgu, dh, gu, inter, count);
  HRM_CUDA_CHECK_LAUNCH(swiglu_backward_kernel);
}

#define HRM_SWIGLU(T)                                                                     \
  template void CudaOps::swiglu_forward<T>(T*, const T*, std::int64_t, std::int64_t); \
  template void CudaOps::swiglu_backward<T>(T*, const T*, const T*, std::int64_t, std::int64_t);
HRM_SWIGLU(float)
HRM_SWIGLU(cuda::bf16)
#undef HRM_SWIGLU

}  // namespace hrm
