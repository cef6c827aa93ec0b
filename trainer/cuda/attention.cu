// attention.cu: non-causal multi-head scaled dot-product attention, no mask (HRM-SPEC 1.6).
//
// Shapes: qkv, dqkv (batch*tokens, 3*H*hd), each row [Q heads | K heads | V heads];
// out, dout (batch*tokens, H*hd); probs (batch, H, tokens, tokens).
//   attention_forward:  P = softmax(Q K^T / sqrt(hd)) per (batch, head), out = P V          (=)
//                       P is saved in probs (null: kept in stream-ordered scratch only)
//   attention_backward: dV = P^T dO, dS = P * (dO V^T - rowsum(P * dO V^T)),
//                       dQ = dS K / sqrt(hd), dK = dS^T Q / sqrt(hd); all of dqkv assigned   (=)
//                       probs null: P is recomputed from qkv
// The correct-first version: every product is a strided-batched GEMM (linear.cuh's gemm), one call per
// head over the batch (heads are strided views of qkv, nothing is transposed or copied), and the
// row softmax and its backward are one warp per row, kSoftmaxWarps rows per block (rows of 82 or
// 901: a block of 128 threads per row left most of them idle at T = 82 and cost three barriers a
// row). The scores make a round trip through memory (batch*H*T^2 floats) where probabilities are
// kept (the saved blocks) and in the backward; the forward without them is fused (below).
// GEMM shapes below are the column-major statements of the row-major products (linear.cuh).
// T = bf16 (HRM's storage): the scores and P are fp32 (acc_t: Q K^T with fp32 output, the softmax and
// its backward in fp32), and P and dS are rounded to bf16 for the products with V, dO, K and Q (as
// flash-attn multiplies bf16 probabilities): the softmax kernels write those copies beside their
// fp32 results (dS only as the copy), in stream-ordered scratch; saved probabilities are converted.
//
// Fused forward (fused_attention_forward_kernel): when nothing is kept (probs null: the forwards
// without grad, and evaluation), head_dim is 64 and T is bf16 or the GEMM mode is bf16 (HRM's
// precision: flash-attn multiplies bf16 Q, K, V and bf16 probabilities with fp32 accumulation), the
// scores never leave the chip: per (batch, head) and tile of 64 queries, K and V stream through
// shared memory 64 keys at a time, S = Q K^T and O += P V run on the tensor cores (WMMA, bf16 in,
// fp32 accumulate), and the softmax is the online one (running max and sum per row, O rescaled as the max grows). Four warps
// of 16 query rows; a lane pair per row does its softmax.
#include <climits>
#include <cmath>
#include <optional>
#include <type_traits>

#include <cuda_bf16.h>
#include <mma.h>

#include "trainer/cuda/bf16.hpp"
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

// Rows of length t: s = softmax(s), max-subtracted so exp never overflows; and, when `copy` is not
// null, the probabilities rounded to bf16 in it too (the operand of a bf16 product).
__global__ void softmax_rows_kernel(float* s, cuda::bf16* copy, i64 rows, i64 t) {
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
  for (i64 j = lane; j < t; j += 32) {
    const float p = row[j] / sum;
    row[j] = p;
    if (copy) copy[r * t + j] = __float2bfloat16_rn(p);
  }
}

// Rows of length t: ds = p * (ds - <p, ds>), ds holding dP on entry; with `copy`, the result goes to
// it, rounded to bf16 (the operand of the bf16 products), and ds keeps dP.
__global__ void softmax_backward_rows_kernel(float* ds, cuda::bf16* copy, const float* p, i64 rows, i64 t) {
  const i64 r = warp_row(rows);
  if (r < 0) return;
  const i64 lane = threadIdx.x & 31;
  float* d = ds + r * t;
  const float* pr = p + r * t;
  float dot = 0;
  for (i64 j = lane; j < t; j += 32) dot += pr[j] * d[j];
  dot = cuda::warp_reduce(dot, cuda::SumOp{});
  for (i64 j = lane; j < t; j += 32) {
    const float v = pr[j] * (d[j] - dot);
    if (copy)
      copy[r * t + j] = __float2bfloat16_rn(v);
    else
      d[j] = v;
  }
}

constexpr int kFaTile = 64;        // queries per block, keys per step
constexpr int kFaHd = 64;          // the head size the fused kernel is built for (HRM's)
constexpr int kFaWarps = 4;        // 16 query rows each
constexpr int kFaLdH = kFaHd + 8;  // bf16 tiles' row stride: a 16-byte multiple that staggers the banks
constexpr int kFaLdF = kFaTile + 4;  // fp32 tiles' row stride

struct FusedShared {  // every member and 16-row block 32-byte aligned, as WMMA's loads want
  __nv_bfloat16 q[kFaTile * kFaLdH], k[kFaTile * kFaLdH], v[kFaTile * kFaLdH], p[kFaTile * kFaLdH];
  float s[kFaTile * kFaLdF], o[kFaTile * kFaLdF];
};

// Rows [r0, r0 + 64) of one head's Q, K or V (row t at src + t * ld), rounded to bf16 (bf16 input:
// as it is); rows past `rows` are zeros.
template <class T> __device__ void load_tile_bf16(__nv_bfloat16* dst, const T* src, i64 r0, i64 rows, i64 ld) {
  for (int i = static_cast<int>(threadIdx.x); i < kFaTile * kFaHd; i += static_cast<int>(blockDim.x)) {
    const int r = i / kFaHd, c = i % kFaHd;
    const i64 t = r0 + r;
    dst[r * kFaLdH + c] = __float2bfloat16_rn(t < rows ? cuda::to_f32(src[t * ld + c]) : 0.0f);
  }
}

// Block (x, y): head x % heads of batch row x / heads, queries [64 y, 64 y + 64).
template <class T>
__global__ void __launch_bounds__(32 * kFaWarps)
    fused_attention_forward_kernel(T* out, const T* qkv, i64 tokens, i64 heads, float scale) {
  namespace wmma = nvcuda::wmma;
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  FusedShared& sh = *reinterpret_cast<FusedShared*>(shared_bytes);
  const i64 D = heads * kFaHd, ld = 3 * D, b = blockIdx.x / heads, h = blockIdx.x % heads;
  const i64 q0 = static_cast<i64>(blockIdx.y) * kFaTile;
  const T* head = qkv + b * tokens * ld + h * kFaHd;  // Q of token t at head + t ld; K at + D; V at + 2D
  const int warp = static_cast<int>(threadIdx.x) >> 5, lane = static_cast<int>(threadIdx.x) & 31;
  const int row = warp * 16 + (lane >> 1), half = lane & 1;  // the lane pair's row and its 32 columns
  load_tile_bf16(sh.q, head, q0, tokens, ld);
  for (int i = static_cast<int>(threadIdx.x); i < kFaTile * kFaLdF; i += static_cast<int>(blockDim.x)) sh.o[i] = 0.0f;
  float m_run = -INFINITY, l_run = 0.0f;
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  for (i64 k0 = 0; k0 < tokens; k0 += kFaTile) {
    __syncthreads();  // every warp is done with the previous keys (and sees Q and O the first time)
    load_tile_bf16(sh.k, head + D, k0, tokens, ld);
    load_tile_bf16(sh.v, head + 2 * D, k0, tokens, ld);
    __syncthreads();
    {  // this warp's S (16 x 64) = Q K^T; K row-major is K^T column-major
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> kt;
      for (int n = 0; n < kFaTile / 16; ++n) {
        wmma::fill_fragment(acc, 0.0f);
        for (int k = 0; k < kFaHd / 16; ++k) {
          wmma::load_matrix_sync(a, sh.q + warp * 16 * kFaLdH + k * 16, kFaLdH);
          wmma::load_matrix_sync(kt, sh.k + n * 16 * kFaLdH + k * 16, kFaLdH);
          wmma::mma_sync(acc, a, kt, acc);
        }
        wmma::store_matrix_sync(sh.s + warp * 16 * kFaLdF + n * 16, acc, kFaLdF, wmma::mem_row_major);
      }
    }
    __syncwarp();
    {  // online softmax of the row's 64 scores (keys past the end: -inf); O's row rescaled
      float* srow = sh.s + row * kFaLdF + half * 32;
      const i64 valid = tokens - k0;  // >= 1: this step's first key exists, so the new max is finite
      float mx = -INFINITY;
      for (int c = 0; c < 32; ++c) {
        const float v = half * 32 + c < valid ? srow[c] * scale : -INFINITY;
        srow[c] = v;
        mx = fmaxf(mx, v);
      }
      const float m_new = fmaxf(m_run, fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1)));
      const float alpha = expf(m_run - m_new);  // 0 at the first step (m_run = -inf)
      __nv_bfloat16* prow = sh.p + row * kFaLdH + half * 32;
      float sum = 0.0f;
      for (int c = 0; c < 32; ++c) {
        const float e = expf(srow[c] - m_new);
        prow[c] = __float2bfloat16_rn(e);
        sum += e;
      }
      l_run = l_run * alpha + sum + __shfl_xor_sync(0xffffffffu, sum, 1);
      m_run = m_new;
      float* orow = sh.o + row * kFaLdF + half * 32;
      for (int c = 0; c < 32; ++c) orow[c] *= alpha;
    }
    __syncwarp();
    {  // this warp's O (16 x 64) += P V
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> vf;
      for (int n = 0; n < kFaHd / 16; ++n) {
        float* o = sh.o + warp * 16 * kFaLdF + n * 16;
        wmma::load_matrix_sync(acc, o, kFaLdF, wmma::mem_row_major);
        for (int k = 0; k < kFaTile / 16; ++k) {
          wmma::load_matrix_sync(a, sh.p + warp * 16 * kFaLdH + k * 16, kFaLdH);
          wmma::load_matrix_sync(vf, sh.v + k * 16 * kFaLdH + n * 16, kFaLdH);
          wmma::mma_sync(acc, a, vf, acc);
        }
        wmma::store_matrix_sync(o, acc, kFaLdF, wmma::mem_row_major);
      }
    }
  }
  __syncwarp();
  const i64 t = q0 + row;
  if (t >= tokens) return;
  const float inv = 1.0f / l_run;
  const float* orow = sh.o + row * kFaLdF + half * 32;
  T* dst = out + (b * tokens + t) * D + h * kFaHd + half * 32;
  for (int c = 0; c < 32; ++c) dst[c] = cuda::from_f32<T>(orow[c] * inv);
}

template <class T> void fused_attention_forward(T* out, const T* qkv, i64 batch, i64 tokens, i64 heads) {
  const i64 tiles = (tokens + kFaTile - 1) / kFaTile;
  HRM_CHECK(batch * heads <= INT_MAX && tiles <= 65535, "fused attention: a grid of {} x {} blocks", batch * heads,
            tiles);
  const int bytes = static_cast<int>(sizeof(FusedShared));
  static const bool opted_in = [&] {  // once per T: more than the default 48 KB of dynamic shared memory
    CUDA_CHECK(cudaFuncSetAttribute(fused_attention_forward_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    bytes));
    return true;
  }();
  (void)opted_in;
  const dim3 grid(static_cast<unsigned>(batch * heads), static_cast<unsigned>(tiles));
  fused_attention_forward_kernel<T><<<grid, 32 * kFaWarps, bytes, cuda::stream()>>>(
      out, qkv, tokens, heads, 1.0f / std::sqrt(static_cast<float>(kFaHd)));
  HRM_CUDA_CHECK_LAUNCH(fused_attention_forward_kernel);
}

// P (batch, H, T, T) = softmax(scale * Q K^T), every head; fp32 whatever T is, and rounded to bf16 in
// `copy` too when it is not null.
template <class T>
void attention_probs(float* P, cuda::bf16* copy, const T* qkv, i64 batch, i64 tokens, i64 heads, i64 head_dim) {
  const i64 D = heads * head_dim, ld = 3 * D, TT = tokens * tokens;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (i64 h = 0; h < heads; ++h) {  // S^T (T, T) = K Q^T
    const T* Q = qkv + h * head_dim;
    cuda::gemm(true, false, tokens, tokens, head_dim, scale, Q + D, ld, tokens * ld, Q, ld, tokens * ld, 0.0f,
               P + h * TT, tokens, heads * TT, batch);
  }
  const i64 rows = batch * heads * tokens;
  softmax_rows_kernel<<<cuda::grid_for(rows, kSoftmaxWarps), 32 * kSoftmaxWarps, 0, cuda::stream()>>>(P, copy, rows,
                                                                                                   tokens);
  HRM_CUDA_CHECK_LAUNCH(softmax_rows_kernel);
}

// For T = bf16, stream-ordered scratch (in `s`) for the bf16 copy of `count` fp32 scores that the
// softmax kernels write beside them, the operand of the bf16 products; for float, null (the fp32
// array is the operand itself).
template <class T> cuda::bf16* bf16_copy(std::optional<cuda::Scratch>& s, i64 count) {
  if constexpr (std::is_same_v<T, float>) {
    return nullptr;
  } else {
    s.emplace(count * sizeof(cuda::bf16));
    return s->as<cuda::bf16>();
  }
}
// The operand of a product with T operands: the fp32 scores for float, their bf16 copy for bf16.
template <class T> const T* operand(const float* fp32, const cuda::bf16* copy) {
  if constexpr (std::is_same_v<T, float>) {
    return fp32;
  } else {
    return copy;
  }
}

}  // namespace

template <class T>
void CudaOps::attention_forward(T* out, ops::acc_t<T>* probs, const T* qkv, i64 batch, i64 tokens, i64 heads,
                                i64 head_dim) {
  const i64 D = heads * head_dim, ld = 3 * D, TT = tokens * tokens;
  if (batch * tokens * heads == 0) return;
  const bool bf16_math = std::is_same_v<T, cuda::bf16> || cuda::gemm_math() == cuda::GemmMath::bf16;
  if (!probs && head_dim == kFaHd && bf16_math) return fused_attention_forward(out, qkv, batch, tokens, heads);
  cuda::Scratch scratch(probs ? 0 : batch * heads * TT * sizeof(float));
  float* P = probs ? probs : scratch.as<float>();
  std::optional<cuda::Scratch> p_copy;
  cuda::bf16* Pb = bf16_copy<T>(p_copy, batch * heads * TT);
  attention_probs(P, Pb, qkv, batch, tokens, heads, head_dim);
  const T* Pt = operand<T>(P, Pb);
  for (i64 h = 0; h < heads; ++h)  // O^T (hd, T) = V^T P^T
    cuda::gemm(false, false, head_dim, tokens, tokens, 1.0f, qkv + 2 * D + h * head_dim, ld, tokens * ld, Pt + h * TT,
               tokens, heads * TT, 0.0f, out + h * head_dim, D, tokens * D, batch);
}

template <class T>
void CudaOps::attention_backward(T* dqkv, const T* dout, const T* qkv, const ops::acc_t<T>* probs, i64 batch,
                                 i64 tokens, i64 heads, i64 head_dim) {
  const i64 D = heads * head_dim, ld = 3 * D, TT = tokens * tokens, scores = batch * heads * TT;
  if (batch * tokens * heads == 0) return;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  cuda::Scratch recomputed(probs ? 0 : scores * sizeof(float));
  cuda::Scratch ds_buffer(scores * sizeof(float));
  float* dS = ds_buffer.as<float>();
  std::optional<cuda::Scratch> p_copy, ds_copy;
  cuda::bf16* Pb = bf16_copy<T>(p_copy, scores);
  if (probs) {
    if (Pb) cuda::to_bf16(Pb, probs, scores);  // the saved fp32 probabilities, as the bf16 operand
  } else {
    attention_probs(recomputed.as<float>(), Pb, qkv, batch, tokens, heads, head_dim);
  }
  const float* P = probs ? probs : recomputed.as<float>();
  const T* Pt = operand<T>(P, Pb);
  for (i64 h = 0; h < heads; ++h) {
    const T* V = qkv + 2 * D + h * head_dim;
    const T* dO = dout + h * head_dim;
    // dV^T (hd, T) = dO^T P
    cuda::gemm(false, true, head_dim, tokens, tokens, 1.0f, dO, D, tokens * D, Pt + h * TT, tokens, heads * TT, 0.0f,
               dqkv + 2 * D + h * head_dim, ld, tokens * ld, batch);
    // dP^T (T, T) = V dO^T, fp32
    cuda::gemm(true, false, tokens, tokens, head_dim, 1.0f, V, ld, tokens * ld, dO, D, tokens * D, 0.0f, dS + h * TT,
               tokens, heads * TT, batch);
  }
  p_copy.reset();  // bf16: P's copy is done with (stream-ordered), and dS's may take its place
  cuda::bf16* dSb = bf16_copy<T>(ds_copy, scores);
  const i64 rows = batch * heads * tokens;
  softmax_backward_rows_kernel<<<cuda::grid_for(rows, kSoftmaxWarps), 32 * kSoftmaxWarps, 0, cuda::stream()>>>(
      dS, dSb, P, rows, tokens);
  HRM_CUDA_CHECK_LAUNCH(softmax_backward_rows_kernel);
  const T* dSt = operand<T>(dS, dSb);
  for (i64 h = 0; h < heads; ++h) {
    const T* Q = qkv + h * head_dim;
    // dQ^T (hd, T) = scale K^T dS^T;  dK^T (hd, T) = scale Q^T dS
    cuda::gemm(false, false, head_dim, tokens, tokens, scale, Q + D, ld, tokens * ld, dSt + h * TT, tokens,
               heads * TT, 0.0f, dqkv + h * head_dim, ld, tokens * ld, batch);
    cuda::gemm(false, true, head_dim, tokens, tokens, scale, Q, ld, tokens * ld, dSt + h * TT, tokens, heads * TT,
               0.0f, dqkv + D + h * head_dim, ld, tokens * ld, batch);
  }
}

#define HRM_ATTENTION(T)                                                                                           \
  template void CudaOps::attention_forward<T>(T*, float*, const T*, std::int64_t, std::int64_t, std::int64_t,      \
                                              std::int64_t);                                                       \
  template void CudaOps::attention_backward<T>(T*, const T*, const T*, const float*, std::int64_t, std::int64_t,   \
                                               std::int64_t, std::int64_t);
HRM_ATTENTION(float)
HRM_ATTENTION(cuda::bf16)
#undef HRM_ATTENTION

}  // namespace hrm
