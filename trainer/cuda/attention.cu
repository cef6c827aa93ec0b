// attention.cu: non-causal multi-head scaled dot-product attention, no mask (HRM-SPEC 1.6).
//
// Shapes: qkv, dqkv (batch*tokens, 3*H*hd), each row [Q heads | K heads | V heads];
// out, dout (batch*tokens, H*hd); probs (batch, H, tokens, tokens).
//   attention_forward:  P = softmax(Q K^T / sqrt(hd)) per (batch, head), out = P V          (=)
//                       P is saved in probs (null: kept in stream-ordered scratch only)
//   attention_backward: dV = P^T dO, dS = P * (dO V^T - rowsum(P * dO V^T)),
//                       dQ = dS K / sqrt(hd), dK = dS^T Q / sqrt(hd); all of dqkv assigned   (=)
//                       probs null: P is recomputed from qkv
// The correct-first version: every product is a strided-batched fp32 GEMM (gemm_f32), one call per
// head over the batch (heads are strided views of qkv, nothing is transposed or copied), and the
// row softmax and its backward are one warp per row, kSoftmaxWarps rows per block (rows of 82 or
// 901: a block of 128 threads per row left most of them idle at T = 82 and cost three barriers a row). The scores make a round trip through memory
// (batch*H*T^2 floats); a fused kernel for T = 82 and 901, hd = 64, is the planned next step.
// GEMM shapes below are the column-major statements of the row-major products (linear.cuh).
#include <cmath>

#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"
#include "trainer/cuda/linear.cuh"

namespace hrm {
namespace {

using cuda::i64;

constexpr int kSoftmaxWarps = 8;  // rows per block of the softmax kernels: one warp each

// The row of this warp (every lane the same, so a warp leaves or stays as one), or -1 past the end.
__device__ i64 warp_row(i64 rows) {
  const i64 row = static_cast<i64>(blockIdx.x) * kSoftmaxWarps + (threadIdx.x >> 5);
  return row < rows ? row : -1;
}

// Rows of length t: s = softmax(s), max-subtracted so exp never overflows.
__global__ void softmax_rows_kernel(float* s, i64 rows, i64 t) {
  const i64 r = warp_row(rows);
  if (r < 0) return;
  const i64 lane = threadIdx.x & 31;
  float* row = s + r * t;
  float m = -INFINITY;
  for (i64 j = lane; j < t; j += 32) m = fmaxf(m, row[j]);
  m = cuda::warp_reduce(m, cuda::MaxOp{});
  float sum = 0;
  for (i64 j = lane; j < t; j += 32) {
    const float e = expf(row[j] - m);
    row[j] = e;
    sum += e;
  }
  sum = cuda::warp_reduce(sum, cuda::SumOp{});
  for (i64 j = lane; j < t; j += 32) row[j] /= sum;
}

// Rows of length t: ds = p * (ds - <p, ds>), ds holding dP on entry.
__global__ void softmax_backward_rows_kernel(float* ds, const float* p, i64 rows, i64 t) {
  const i64 r = warp_row(rows);
  if (r < 0) return;
  const i64 lane = threadIdx.x & 31;
  float* d = ds + r * t;
  const float* pr = p + r * t;
  float dot = 0;
  for (i64 j = lane; j < t; j += 32) dot += pr[j] * d[j];
  dot = cuda::warp_reduce(dot, cuda::SumOp{});
  for (i64 j = lane; j < t; j += 32) d[j] = pr[j] * (d[j] - dot);
}

// P (batch, H, T, T) = softmax(scale * Q K^T), every head.
void attention_probs(float* P, const float* qkv, i64 batch, i64 tokens, i64 heads, i64 head_dim) {
  const i64 D = heads * head_dim, ld = 3 * D, TT = tokens * tokens;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (i64 h = 0; h < heads; ++h) {  // S^T (T, T) = K Q^T
    const float* Q = qkv + h * head_dim;
    cuda::gemm_f32(true, false, tokens, tokens, head_dim, scale, Q + D, ld, tokens * ld, Q, ld, tokens * ld, 0.0f,
                   P + h * TT, tokens, heads * TT, batch);
  }
  const i64 rows = batch * heads * tokens;
  softmax_rows_kernel<<<cuda::grid_for(rows, kSoftmaxWarps), 32 * kSoftmaxWarps, 0, cuda::stream()>>>(P, rows, tokens);
  HRM_CUDA_CHECK_LAUNCH(softmax_rows_kernel);
}

}  // namespace

template <class T>
void CudaOps::attention_forward(T* out, T* probs, const T* qkv, i64 batch, i64 tokens, i64 heads, i64 head_dim) {
  const i64 D = heads * head_dim, ld = 3 * D, TT = tokens * tokens;
  if (batch * tokens * heads == 0) return;
  cuda::Scratch scratch(probs ? 0 : batch * heads * TT * sizeof(T));
  T* P = probs ? probs : scratch.as<T>();
  attention_probs(P, qkv, batch, tokens, heads, head_dim);
  for (i64 h = 0; h < heads; ++h)  // O^T (hd, T) = V^T P^T
    cuda::gemm_f32(false, false, head_dim, tokens, tokens, 1.0f, qkv + 2 * D + h * head_dim, ld, tokens * ld,
                   P + h * TT, tokens, heads * TT, 0.0f, out + h * head_dim, D, tokens * D, batch);
}

template <class T>
void CudaOps::attention_backward(T* dqkv, const T* dout, const T* qkv, const T* probs, i64 batch, i64 tokens,
                                 i64 heads, i64 head_dim) {
  const i64 D = heads * head_dim, ld = 3 * D, TT = tokens * tokens, scores = batch * heads * TT;
  if (batch * tokens * heads == 0) return;
  const T scale = T(1) / std::sqrt(static_cast<T>(head_dim));
  cuda::Scratch recomputed(probs ? 0 : scores * sizeof(T));
  cuda::Scratch ds_buffer(scores * sizeof(T));
  T* dS = ds_buffer.as<T>();
  if (!probs) attention_probs(recomputed.as<T>(), qkv, batch, tokens, heads, head_dim);
  const T* P = probs ? probs : recomputed.as<T>();
  for (i64 h = 0; h < heads; ++h) {
    const T* V = qkv + 2 * D + h * head_dim;
    const T* dO = dout + h * head_dim;
    // dV^T (hd, T) = dO^T P
    cuda::gemm_f32(false, true, head_dim, tokens, tokens, 1.0f, dO, D, tokens * D, P + h * TT, tokens, heads * TT,
                   0.0f, dqkv + 2 * D + h * head_dim, ld, tokens * ld, batch);
    // dP^T (T, T) = V dO^T
    cuda::gemm_f32(true, false, tokens, tokens, head_dim, 1.0f, V, ld, tokens * ld, dO, D, tokens * D, 0.0f,
                   dS + h * TT, tokens, heads * TT, batch);
  }
  const i64 rows = batch * heads * tokens;
  softmax_backward_rows_kernel<<<cuda::grid_for(rows, kSoftmaxWarps), 32 * kSoftmaxWarps, 0, cuda::stream()>>>(
      dS, P, rows, tokens);
  HRM_CUDA_CHECK_LAUNCH(softmax_backward_rows_kernel);
  for (i64 h = 0; h < heads; ++h) {
    const T* Q = qkv + h * head_dim;
    // dQ^T (hd, T) = scale K^T dS^T;  dK^T (hd, T) = scale Q^T dS
    cuda::gemm_f32(false, false, head_dim, tokens, tokens, scale, Q + D, ld, tokens * ld, dS + h * TT, tokens,
                   heads * TT, 0.0f, dqkv + h * head_dim, ld, tokens * ld, batch);
    cuda::gemm_f32(false, true, head_dim, tokens, tokens, scale, Q, ld, tokens * ld, dS + h * TT, tokens, heads * TT,
                   0.0f, dqkv + D + h * head_dim, ld, tokens * ld, batch);
  }
}

template void CudaOps::attention_forward<float>(float*, float*, const float*, std::int64_t, std::int64_t,
                                                std::int64_t, std::int64_t);
template void CudaOps::attention_backward<float>(float*, const float*, const float*, const float*, std::int64_t,
                                                 std::int64_t, std::int64_t, std::int64_t);

}  // namespace hrm
