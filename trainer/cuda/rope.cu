// rope.cu: rotary position embeddings in the rotate-half (NeoX) layout (HRM-SPEC 1.6).
//
// Shapes: cos, sin (tokens, head_dim), fp32 (acc_t); qkv, dqkv (batch*tokens, 3*heads*head_dim), each row
// [Q heads | K heads | V heads], each head head_dim contiguous.
//   rope_tables:   the CPU backend's tables (CpuOps::rope_tables, the same float rounding steps as
//                  torch), computed on the host once at model construction and copied to the device (=)
//   rope_forward:  x' = x*cos + rotate_half(x)*sin on Q and K, in place; V untouched
//   rope_backward: dx = dy*cos + rotate_half^T(dy*sin) on dQ and dK, in place; dV untouched
// One thread per rotated pair (x_j, x_{half+j}).
#include <vector>

#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm {
namespace {

using cuda::from_f32;
using cuda::i64;
using cuda::to_f32;

// Pair p of (row r, head h < 2*heads, j < half); `backward` selects the transposed rotation. The
// rotation runs in fp32 (HRM-SPEC 1.9), the result rounded to T.
template <class T, bool backward>
__global__ void rope_kernel(T* qkv, const float* cos, const float* sin, i64 tokens, i64 heads, i64 head_dim,
                            i64 pairs) {
  const i64 p = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= pairs) return;
  const i64 half = head_dim / 2, j = p % half, h = (p / half) % (2 * heads), r = p / (half * 2 * heads);
  T* x = qkv + r * 3 * heads * head_dim + h * head_dim;
  const float* c = cos + (r % tokens) * head_dim;
  const float* s = sin + (r % tokens) * head_dim;
  const float x1 = to_f32(x[j]), x2 = to_f32(x[half + j]);
  if constexpr (backward) {
    x[j] = from_f32<T>(x1 * c[j] + x2 * s[half + j]);
    x[half + j] = from_f32<T>(x2 * c[half + j] - x1 * s[j]);
  } else {
    x[j] = from_f32<T>(x1 * c[j] - x2 * s[j]);
    x[half + j] = from_f32<T>(x2 * c[half + j] + x1 * s[half + j]);
  }
}

template <class T, bool backward>
void rope(T* qkv, const float* cos, const float* sin, i64 batch, i64 tokens, i64 heads, i64 head_dim) {
  HRM_CHECK(head_dim % 2 == 0, "rope: head_dim {} must be even", head_dim);
  const i64 pairs = batch * tokens * 2 * heads * (head_dim / 2);
  if (pairs == 0) return;
  rope_kernel<T, backward><<<cuda::grid_for(pairs), cuda::kThreads, 0, cuda::stream()>>>(qkv, cos, sin, tokens, heads,
                                                                                         head_dim, pairs);
  HRM_CUDA_CHECK_LAUNCH(rope_kernel);
}

}  // namespace

template <class T> void CudaOps::rope_tables(T* cos, T* sin, i64 tokens, i64 head_dim, double theta) {
  std::vector<T> c(tokens * head_dim), s(tokens * head_dim);
  CpuOps::rope_tables(c.data(), s.data(), tokens, head_dim, theta);
  CUDA_CHECK(cudaMemcpy(cos, c.data(), c.size() * sizeof(T), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(sin, s.data(), s.size() * sizeof(T), cudaMemcpyHostToDevice));
}

template <class T>
void CudaOps::rope_forward(T* qkv, const ops::acc_t<T>* cos, const ops::acc_t<T>* sin, i64 batch, i64 tokens,
                           i64 heads, i64 head_dim) {
  rope<T, false>(qkv, cos, sin, batch, tokens, heads, head_dim);
}

template <class T>
void CudaOps::rope_backward(T* dqkv, const ops::acc_t<T>* cos, const ops::acc_t<T>* sin, i64 batch, i64 tokens,
                            i64 heads, i64 head_dim) {
  rope<T, true>(dqkv, cos, sin, batch, tokens, heads, head_dim);
}

template void CudaOps::rope_tables<float>(float*, float*, std::int64_t, std::int64_t, double);
#define HRM_ROPE(T)                                                                                                  \
  template void CudaOps::rope_forward<T>(T*, const float*, const float*, std::int64_t, std::int64_t, std::int64_t,  \
                                         std::int64_t);                                                              \
  template void CudaOps::rope_backward<T>(T*, const float*, const float*, std::int64_t, std::int64_t, std::int64_t, \
                                          std::int64_t);
HRM_ROPE(float)
HRM_ROPE(cuda::bf16)
#undef HRM_ROPE

}  // namespace hrm
