// rms_norm.cu: parameter-free RMSNorm over the feature axis (HRM-SPEC 1.5), forward and backward.
//
// Shapes: x, y, dx, dy (n, d); rstd (n), acc_t (fp32 for bf16 arrays).
//   rms_norm_forward:  s = x + residual (residual null: s = x), rstd = 1/sqrt(mean(s^2) + eps),
//                      y = s * rstd                                        (=; rstd null: not saved)
//   rms_norm_backward: dx = rstd * (dy - y * mean(dy * y))                 (=; dx may alias dy)
// One block per row; the row sum is a block reduction in fp32 (HRM: the norm's internals in fp32).
// The residual add is fused: s is rounded once per element to the storage type (HRM adds in bf16
// before the norm upcasts) and recomputed for the scaling pass (the row is in L1/L2 then), never
// written: one read of x and of the residual and one write of y, instead of add's three passes and
// the norm's two.
// 1/sqrt, not rsqrt: sqrt and division are IEEE-rounded (nvcc's defaults), as on the CPU.
#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm {
namespace {

using cuda::from_f32;
using cuda::i64;
using cuda::to_f32;

template <class T>
__global__ void rms_norm_forward_kernel(T* y, float* rstd, const T* x, const T* residual, i64 d, float eps) {
  __shared__ float shared[32];
  const T* xr = x + blockIdx.x * d;
  const T* rr = residual ? residual + blockIdx.x * d : nullptr;
  T* yr = y + blockIdx.x * d;
  // __fadd_rn: the sum rounded on its own (as add), never contracted into the square's multiply-add.
  const auto s = [&](i64 j) {
    return rr ? cuda::round_as<T>(__fadd_rn(to_f32(xr[j]), to_f32(rr[j]))) : to_f32(xr[j]);
  };
  float sq = 0;
  for (i64 j = threadIdx.x; j < d; j += blockDim.x) sq += s(j) * s(j);
  sq = cuda::block_reduce(sq, cuda::SumOp{}, 0.0f, shared);
  const float r = 1.0f / sqrt(sq / static_cast<float>(d) + eps);
  for (i64 j = threadIdx.x; j < d; j += blockDim.x) yr[j] = from_f32<T>(s(j) * r);
  if (rstd && threadIdx.x == 0) rstd[blockIdx.x] = r;
}

// dx may alias dy: every element is read (for the mean) before the barrier in block_reduce, and
// each is then rewritten by the one thread that reads it.
template <class T> __global__ void rms_norm_backward_kernel(T* dx, const T* dy, const T* y, const float* rstd, i64 d) {
  __shared__ float shared[32];
  const T* dyr = dy + blockIdx.x * d;
  const T* yr = y + blockIdx.x * d;
  T* dxr = dx + blockIdx.x * d;
  float s = 0;
  for (i64 j = threadIdx.x; j < d; j += blockDim.x) s += to_f32(dyr[j]) * to_f32(yr[j]);
  const float m = cuda::block_reduce(s, cuda::SumOp{}, 0.0f, shared) / static_cast<float>(d);
  const float r = rstd[blockIdx.x];
  for (i64 j = threadIdx.x; j < d; j += blockDim.x) dxr[j] = from_f32<T>(r * (to_f32(dyr[j]) - to_f32(yr[j]) * m));
}

}  // namespace

template <class T>
void CudaOps::rms_norm_forward(T* y, ops::acc_t<T>* rstd, const T* x, const T* residual, i64 n, i64 d, double eps) {
  if (n == 0) return;
  rms_norm_forward_kernel<<<cuda::grid_for(n, 1), cuda::kRowThreads, 0, cuda::stream()>>>(y, rstd, x, residual, d,
                                                                                          static_cast<float>(eps));
  HRM_CUDA_CHECK_LAUNCH(rms_norm_forward_kernel);
}

template <class T>
void CudaOps::rms_norm_backward(T* dx, const T* dy, const T* y, const ops::acc_t<T>* rstd, i64 n, i64 d) {
  if (n == 0) return;
  rms_norm_backward_kernel<<<cuda::grid_for(n, 1), cuda::kRowThreads, 0, cuda::stream()>>>(dx, dy, y, rstd, d);
  HRM_CUDA_CHECK_LAUNCH(rms_norm_backward_kernel);
}

#define HRM_RMS_NORM(T)                                                                                          \
  template void CudaOps::rms_norm_forward<T>(T*, float*, const T*, const T*, std::int64_t, std::int64_t, double); \
  template void CudaOps::rms_norm_backward<T>(T*, const T*, const T*, const float*, std::int64_t, std::int64_t);
HRM_RMS_NORM(float)
HRM_RMS_NORM(cuda::bf16)
#undef HRM_RMS_NORM

}  // namespace hrm
