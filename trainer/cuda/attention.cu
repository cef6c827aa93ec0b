// attention.cu: non-causal multi-head scaled dot-product attention, no mask (HRM-SPEC 1.6).
//
// Shapes: qkv, dqkv (batch*tokens, 3*H*hd), each row [Q heads | K heads | V heads];
// out, dout (batch*tokens, H*hd).
//   attention_forward:  P = softmax(Q K^T / sqrt(hd)) per (batch, head), out = P V          (=)
//   attention_backward: dV = P^T dO, dS = P * (dO V^T - rowsum(P * dO V^T)),
//                       dQ = dS K / sqrt(hd), dK = dS^T Q / sqrt(hd); all of dqkv assigned   (=)
// Two implementations, chosen by `fused` (attention_saved_count tells the model which it keeps):
//
// Fused (bf16 storage, or the bf16 GEMM mode, at head size 64: HRM's precision, flash-attn's bf16 Q, K,
// V, P and dS with fp32 accumulation): no T x T array. The forward (fused_attention_forward_kernel),
// per (batch, head) and tile of 64 queries, streams K and V through shared memory 64 keys at a time,
// S = Q K^T and O += P V on the tensor cores (WMMA bf16, fp32 accumulation), the online softmax
// (running max and sum per row, O rescaled as the max grows); four warps of 16 query rows, a lane pair
// per row. It keeps one log-sum-exp per row (batch, H, T) for the backward, FlashAttention-2's in two
// deterministic passes after rowsum(dO O): per key tile dK and dV (the query tiles streaming), per
// query tile dQ (the key tiles streaming), each recomputing S, P = exp(S - lse) and dP = dO V^T; no
// atomics. Saved: b H T floats instead of b H T^2.
//
// Unfused (the fp32 parity path, and other head sizes): every product is a strided-batched GEMM
// (linear.cuh's gemm), one call per head over the batch (heads are strided views of qkv, nothing is
// transposed or copied), and the row softmax and its backward are one warp per row, kSoftmaxWarps
// rows per block. The forward keeps P (batch, H, T, T) when it saves (null: stream-ordered scratch
// only), the backward recomputes it when nothing was kept. T = bf16 (another head size in bf16
// storage): the scores and P are fp32 (acc_t), P and dS are rounded to bf16 for the products with V,
// dO, K and Q: the softmax kernels write those copies beside their fp32 results (dS only as the copy).
// GEMM shapes below are the column-major statements of the row-major products (linear.cuh).
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
constexpr int kFaHd = 64;          // the head size the fused kernels are built for (HRM's)
constexpr int kFaWarps = 4;        // 16 query rows each (the backward's dK/dV kernel: 16 key rows each)
constexpr int kFaLdH = kFaHd + 8;  // bf16 tiles' row stride: a 16-byte multiple that staggers the banks
constexpr int kFaLdF = kFaTile + 4;  // fp32 tiles' row stride

namespace wmma = nvcuda::wmma;
using Accumulators = wmma::fragment<wmma::accumulator, 16, 16, 16, float>[kFaHd / 16];  // a warp's 16 x 64

// Every member and 16-row block of these is 32-byte aligned, as WMMA's loads want.
struct FusedShared {
  __nv_bfloat16 q[kFaTile * kFaLdH], k[kFaTile * kFaLdH], v[kFaTile * kFaLdH], p[kFaTile * kFaLdH];
  float s[kFaTile * kFaLdF], o[kFaTile * kFaLdF];
};
struct FusedBackwardShared {
  __nv_bfloat16 q[kFaTile * kFaLdH], k[kFaTile * kFaLdH], v[kFaTile * kFaLdH], dout[kFaTile * kFaLdH],
      p[kFaTile * kFaLdH], ds[kFaTile * kFaLdH];
  float s[kFaTile * kFaLdF], dp[kFaTile * kFaLdF];
};

// Rows [r0, r0 + 64) of one head's Q, K, V or dO (row t at src + t * ld), rounded to bf16 (bf16 input:
// as it is); rows past `rows` are zeros.
template <class T> __device__ void load_tile_bf16(__nv_bfloat16* dst, const T* src, i64 r0, i64 rows, i64 ld) {
  for (int i = static_cast<int>(threadIdx.x); i < kFaTile * kFaHd; i += static_cast<int>(blockDim.x)) {
    const int r = i / kFaHd, c = i % kFaHd;
    const i64 t = r0 + r;
    dst[r * kFaLdH + c] = __float2bfloat16_rn(t < rows ? cuda::to_f32(src[t * ld + c]) : 0.0f);
  }
}

// This warp's dst (16 x 64 fp32, stride kFaLdF) = A B^T on the tensor cores: A the warp's 16 rows of
// a bf16 tile, B a whole bf16 tile (64 x 64), both of stride kFaLdH (a row-major B is B^T column-major).
__device__ void warp_times_transpose(float* dst, const __nv_bfloat16* a_rows, const __nv_bfloat16* b) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> bt;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  for (int n = 0; n < kFaTile / 16; ++n) {
    wmma::fill_fragment(acc, 0.0f);
    for (int k = 0; k < kFaHd / 16; ++k) {
      wmma::load_matrix_sync(a, a_rows + k * 16, kFaLdH);
      wmma::load_matrix_sync(bt, b + n * 16 * kFaLdH + k * 16, kFaLdH);
      wmma::mma_sync(acc, a, bt, acc);
    }
    wmma::store_matrix_sync(dst + n * 16, acc, kFaLdF, wmma::mem_row_major);
  }
}

// This warp's acc (16 x 64) += A B: A (16 x 64) bf16 whose 16 x 16 block k starts at a + k * a_step
// (Layout row_major: the warp's rows of a tile, a_step 16; col_major: the transpose of 16 columns of a
// tile, a_step 16 rows), B a whole bf16 tile (64 x 64, row-major), strides kFaLdH.
template <class Layout>
__device__ void warp_accumulate(Accumulators& acc, const __nv_bfloat16* a, int a_step, const __nv_bfloat16* b) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, Layout> af;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> bf;
  for (int k = 0; k < kFaTile / 16; ++k) {
    wmma::load_matrix_sync(af, a + k * a_step, kFaLdH);
    for (int n = 0; n < kFaHd / 16; ++n) {
      wmma::load_matrix_sync(bf, b + k * 16 * kFaLdH + n * 16, kFaLdH);
      wmma::mma_sync(acc[n], af, bf, acc[n]);
    }
  }
}

__device__ void warp_store(float* dst, const Accumulators& acc) {  // this warp's 16 x 64, stride kFaLdF
  for (int n = 0; n < kFaHd / 16; ++n) wmma::store_matrix_sync(dst + n * 16, acc[n], kFaLdF, wmma::mem_row_major);
}

// Block (x, y): head x % heads of batch row x / heads, queries [64 y, 64 y + 64). lse not null: each
// row's log-sum-exp of its scaled scores (batch, heads, tokens) too, what the backward needs.
template <class T>
__global__ void __launch_bounds__(32 * kFaWarps)
    fused_attention_forward_kernel(T* out, float* lse, const T* qkv, i64 tokens, i64 heads, float scale) {
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
  for (i64 k0 = 0; k0 < tokens; k0 += kFaTile) {
    __syncthreads();  // every warp is done with the previous keys (and sees Q and O the first time)
    load_tile_bf16(sh.k, head + D, k0, tokens, ld);
    load_tile_bf16(sh.v, head + 2 * D, k0, tokens, ld);
    __syncthreads();
    warp_times_transpose(sh.s + warp * 16 * kFaLdF, sh.q + warp * 16 * kFaLdH, sh.k);  // S = Q K^T
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
      float* o = sh.o + warp * 16 * kFaLdF;
      Accumulators acc;
      for (int n = 0; n < kFaHd / 16; ++n) wmma::load_matrix_sync(acc[n], o + n * 16, kFaLdF, wmma::mem_row_major);
      warp_accumulate<wmma::row_major>(acc, sh.p + warp * 16 * kFaLdH, 16, sh.v);
      warp_store(o, acc);
    }
  }
  __syncwarp();
  const i64 t = q0 + row;
  if (t >= tokens) return;
  if (lse && half == 0) lse[blockIdx.x * tokens + t] = m_run + logf(l_run);
  const float inv = 1.0f / l_run;
  const float* orow = sh.o + row * kFaLdF + half * 32;
  T* dst = out + (b * tokens + t) * D + h * kFaHd + half * 32;
  for (int c = 0; c < 32; ++c) dst[c] = cuda::from_f32<T>(orow[c] * inv);
}

// dot (batch, heads, tokens) = rowsum(dO * O) per head row, fp32: the backward's <P, dP> (flash-attn's
// D), one warp per row.
template <class T>
__global__ void attention_row_dot_kernel(float* dot, const T* dout, const T* out, i64 rows, i64 tokens, i64 heads) {
  const i64 r = warp_row(rows);
  if (r < 0) return;
  const i64 lane = threadIdx.x & 31, bh = r / tokens, t = r % tokens, b = bh / heads, h = bh % heads;
  const i64 at = (b * tokens + t) * heads * kFaHd + h * kFaHd + lane;
  float acc = cuda::to_f32(dout[at]) * cuda::to_f32(out[at]) + cuda::to_f32(dout[at + 32]) * cuda::to_f32(out[at + 32]);
  acc = cuda::warp_reduce(acc, cuda::SumOp{});
  if (lane == 0) dot[r] = acc;
}

// The backward's scores of this lane pair's half row (32 keys from `key0`): P = exp(S scale - lse)
// (0 for keys at or past `tokens` and in a row past the end) to p when p is not null, and
// dS = P (dP - dot) to ds, both rounded to bf16 (the operands of dV = P^T dO and of dQ, dK: as
// flash-attn rounds them). s, dp: the fp32 S and dP of the same half row.
__device__ void backward_scores(__nv_bfloat16* p, __nv_bfloat16* ds, const float* s, const float* dp, bool row_valid,
                                float lse, float dot, i64 key0, i64 tokens, float scale) {
  for (int c = 0; c < 32; ++c) {
    const float pv = row_valid && key0 + c < tokens ? expf(s[c] * scale - lse) : 0.0f;
    if (p) p[c] = __float2bfloat16_rn(pv);
    ds[c] = __float2bfloat16_rn(pv * (dp[c] - dot));
  }
}

// dK and dV of 64 keys. Block (x, y): head x % heads of batch row x / heads, keys [64 y, 64 y + 64);
// the query tiles stream through shared memory. Warps own 16 key rows for dK = scale dS^T Q and
// dV = P^T dO (accumulated on the tensor cores in registers), and 16 query rows of each tile's S and dP.
template <class T>
__global__ void __launch_bounds__(32 * kFaWarps)
    fused_attention_dkdv_kernel(T* dqkv, const T* qkv, const T* dout, const float* lse, const float* dot,
                                i64 tokens, i64 heads, float scale) {
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  FusedBackwardShared& sh = *reinterpret_cast<FusedBackwardShared*>(shared_bytes);
  const i64 D = heads * kFaHd, ld = 3 * D, b = blockIdx.x / heads, h = blockIdx.x % heads;
  const i64 k0 = static_cast<i64>(blockIdx.y) * kFaTile;
  const T* head = qkv + b * tokens * ld + h * kFaHd;
  const T* dhead = dout + b * tokens * D + h * kFaHd;
  const float* head_lse = lse + blockIdx.x * tokens;
  const float* head_dot = dot + blockIdx.x * tokens;
  const int warp = static_cast<int>(threadIdx.x) >> 5, lane = static_cast<int>(threadIdx.x) & 31;
  const int row = warp * 16 + (lane >> 1), half = lane & 1;
  load_tile_bf16(sh.k, head + D, k0, tokens, ld);
  load_tile_bf16(sh.v, head + 2 * D, k0, tokens, ld);
  Accumulators dk, dv;
  for (int n = 0; n < kFaHd / 16; ++n) {
    wmma::fill_fragment(dk[n], 0.0f);
    wmma::fill_fragment(dv[n], 0.0f);
  }
  for (i64 q0 = 0; q0 < tokens; q0 += kFaTile) {
    __syncthreads();  // every warp is done with the previous queries (and sees K and V the first time)
    load_tile_bf16(sh.q, head, q0, tokens, ld);
    load_tile_bf16(sh.dout, dhead, q0, tokens, D);
    __syncthreads();
    warp_times_transpose(sh.s + warp * 16 * kFaLdF, sh.q + warp * 16 * kFaLdH, sh.k);      // S = Q K^T
    warp_times_transpose(sh.dp + warp * 16 * kFaLdF, sh.dout + warp * 16 * kFaLdH, sh.v);  // dP = dO V^T
    __syncwarp();
    const i64 t = q0 + row;
    const bool valid = t < tokens;
    backward_scores(sh.p + row * kFaLdH + half * 32, sh.ds + row * kFaLdH + half * 32, sh.s + row * kFaLdF + half * 32,
                    sh.dp + row * kFaLdF + half * 32, valid, valid ? head_lse[t] : 0.0f, valid ? head_dot[t] : 0.0f,
                    k0 + half * 32, tokens, scale);
    __syncthreads();  // every query row's P and dS
    warp_accumulate<wmma::col_major>(dv, sh.p + warp * 16, 16 * kFaLdH, sh.dout);  // (P^T)[keys of the warp] dO
    warp_accumulate<wmma::col_major>(dk, sh.ds + warp * 16, 16 * kFaLdH, sh.q);    // (dS^T)[keys of the warp] Q
  }
  // This warp's key rows of s and dp are its own: no other warp reads them after the last tile's scores.
  warp_store(sh.s + warp * 16 * kFaLdF, dk);
  warp_store(sh.dp + warp * 16 * kFaLdF, dv);
  __syncwarp();
  const i64 key = k0 + row;
  if (key >= tokens) return;
  const float* krow = sh.s + row * kFaLdF + half * 32;
  const float* vrow = sh.dp + row * kFaLdF + half * 32;
  T* dst = dqkv + (b * tokens + key) * ld + h * kFaHd + half * 32;
  for (int c = 0; c < 32; ++c) {
    dst[D + c] = cuda::from_f32<T>(krow[c] * scale);
    dst[2 * D + c] = cuda::from_f32<T>(vrow[c]);
  }
}

// dQ of 64 queries = scale dS K. Block (x, y): head x % heads of batch row x / heads, queries
// [64 y, 64 y + 64); the key tiles stream through shared memory; warps own 16 query rows throughout.
// S and dP are recomputed here rather than shared with the dK/dV kernel: no atomics, so the result
// does not depend on the order blocks run in.
template <class T>
__global__ void __launch_bounds__(32 * kFaWarps)
    fused_attention_dq_kernel(T* dqkv, const T* qkv, const T* dout, const float* lse, const float* dot, i64 tokens,
                              i64 heads, float scale) {
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  FusedBackwardShared& sh = *reinterpret_cast<FusedBackwardShared*>(shared_bytes);
  const i64 D = heads * kFaHd, ld = 3 * D, b = blockIdx.x / heads, h = blockIdx.x % heads;
  const i64 q0 = static_cast<i64>(blockIdx.y) * kFaTile;
  const T* head = qkv + b * tokens * ld + h * kFaHd;
  const int warp = static_cast<int>(threadIdx.x) >> 5, lane = static_cast<int>(threadIdx.x) & 31;
  const int row = warp * 16 + (lane >> 1), half = lane & 1;
  const i64 t = q0 + row;
  const bool valid = t < tokens;
  const float row_lse = valid ? lse[blockIdx.x * tokens + t] : 0.0f;
  const float row_dot = valid ? dot[blockIdx.x * tokens + t] : 0.0f;
  load_tile_bf16(sh.q, head, q0, tokens, ld);
  load_tile_bf16(sh.dout, dout + b * tokens * D + h * kFaHd, q0, tokens, D);
  Accumulators dq;
  for (int n = 0; n < kFaHd / 16; ++n) wmma::fill_fragment(dq[n], 0.0f);
  for (i64 k0 = 0; k0 < tokens; k0 += kFaTile) {
    __syncthreads();  // every warp is done with the previous keys (and sees Q and dO the first time)
    load_tile_bf16(sh.k, head + D, k0, tokens, ld);
    load_tile_bf16(sh.v, head + 2 * D, k0, tokens, ld);
    __syncthreads();
    warp_times_transpose(sh.s + warp * 16 * kFaLdF, sh.q + warp * 16 * kFaLdH, sh.k);
    warp_times_transpose(sh.dp + warp * 16 * kFaLdF, sh.dout + warp * 16 * kFaLdH, sh.v);
    __syncwarp();
    backward_scores(nullptr, sh.ds + row * kFaLdH + half * 32, sh.s + row * kFaLdF + half * 32,
                    sh.dp + row * kFaLdF + half * 32, valid, row_lse, row_dot, k0 + half * 32, tokens, scale);
    __syncwarp();
    warp_accumulate<wmma::row_major>(dq, sh.ds + warp * 16 * kFaLdH, 16, sh.k);  // dS[rows of the warp] K
  }
  warp_store(sh.s + warp * 16 * kFaLdF, dq);
  __syncwarp();
  if (!valid) return;
  const float* qrow = sh.s + row * kFaLdF + half * 32;
  T* dst = dqkv + (b * tokens + t) * ld + h * kFaHd + half * 32;
  for (int c = 0; c < 32; ++c) dst[c] = cuda::from_f32<T>(qrow[c] * scale);
}

// The fused kernels run where HRM's attention multiplies in bf16 (flash-attn: bf16 Q, K, V, P and dS,
// fp32 accumulation): bf16 storage, or the bf16 GEMM mode, at head size 64.
template <class T> bool fused(i64 head_dim) {
  return head_dim == kFaHd && (std::is_same_v<T, cuda::bf16> || cuda::gemm_math() == cuda::GemmMath::bf16);
}

// A fused kernel's grid (a block per (batch row, head) and 64-token tile), after it has been allowed
// the dynamic shared memory it needs (more than the default 48 KB; once per kernel).
template <auto Kernel> dim3 fused_grid(i64 batch, i64 tokens, i64 heads, int shared_bytes) {
  static const bool opted_in = [&] {
    CUDA_CHECK(cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_bytes));
    return true;
  }();
  (void)opted_in;
  const i64 tiles = (tokens + kFaTile - 1) / kFaTile;
  HRM_CHECK(batch * heads <= INT_MAX && tiles <= 65535, "fused attention: a grid of {} x {} blocks", batch * heads,
            tiles);
  return dim3(static_cast<unsigned>(batch * heads), static_cast<unsigned>(tiles));
}

constexpr float kFaScale = 0.125f;  // 1 / sqrt(64), exact

template <class T> void fused_attention_forward(T* out, float* lse, const T* qkv, i64 batch, i64 tokens, i64 heads) {
  constexpr int bytes = sizeof(FusedShared);
  const dim3 grid = fused_grid<fused_attention_forward_kernel<T>>(batch, tokens, heads, bytes);
  fused_attention_forward_kernel<T><<<grid, 32 * kFaWarps, bytes, cuda::stream()>>>(out, lse, qkv, tokens, heads,
                                                                                     kFaScale);
  HRM_CUDA_CHECK_LAUNCH(fused_attention_forward_kernel);
}

// FlashAttention-2's backward in two deterministic passes: dot = rowsum(dO O), then dK and dV per key
// tile and dQ per query tile, each recomputing P from the forward's log-sum-exp; no T x T array.
template <class T>
void fused_attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const float* lse, i64 batch,
                              i64 tokens, i64 heads) {
  const i64 rows = batch * heads * tokens;
  cuda::Scratch dots(rows * sizeof(float));
  float* dot = dots.as<float>();
  attention_row_dot_kernel<T><<<cuda::grid_for(rows, kSoftmaxWarps), 32 * kSoftmaxWarps, 0, cuda::stream()>>>(
      dot, dout, out, rows, tokens, heads);
  HRM_CUDA_CHECK_LAUNCH(attention_row_dot_kernel);
  constexpr int bytes = sizeof(FusedBackwardShared);
  const dim3 grid_kv = fused_grid<fused_attention_dkdv_kernel<T>>(batch, tokens, heads, bytes);
  fused_attention_dkdv_kernel<T><<<grid_kv, 32 * kFaWarps, bytes, cuda::stream()>>>(dqkv, qkv, dout, lse, dot, tokens,
                                                                                    heads, kFaScale);
  HRM_CUDA_CHECK_LAUNCH(fused_attention_dkdv_kernel);
  const dim3 grid_q = fused_grid<fused_attention_dq_kernel<T>>(batch, tokens, heads, bytes);
  fused_attention_dq_kernel<T><<<grid_q, 32 * kFaWarps, bytes, cuda::stream()>>>(dqkv, qkv, dout, lse, dot, tokens,
                                                                                 heads, kFaScale);
  HRM_CUDA_CHECK_LAUNCH(fused_attention_dq_kernel);
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

template <class T> i64 CudaOps::attention_saved_count(i64 batch, i64 tokens, i64 heads, i64 head_dim) {
  return batch * heads * tokens * (fused<T>(head_dim) ? 1 : tokens);
}

template <class T>
void CudaOps::attention_forward(T* out, ops::acc_t<T>* saved, const T* qkv, i64 batch, i64 tokens, i64 heads,
                                i64 head_dim) {
  const i64 D = heads * head_dim, ld = 3 * D, TT = tokens * tokens;
  if (batch * tokens * heads == 0) return;
  if (fused<T>(head_dim)) return fused_attention_forward(out, saved, qkv, batch, tokens, heads);  // saved: the lse
  cuda::Scratch scratch(saved ? 0 : batch * heads * TT * sizeof(float));
  float* P = saved ? saved : scratch.as<float>();
  std::optional<cuda::Scratch> p_copy;
  cuda::bf16* Pb = bf16_copy<T>(p_copy, batch * heads * TT);
  attention_probs(P, Pb, qkv, batch, tokens, heads, head_dim);
  const T* Pt = operand<T>(P, Pb);
  for (i64 h = 0; h < heads; ++h)  // O^T (hd, T) = V^T P^T
    cuda::gemm(false, false, head_dim, tokens, tokens, 1.0f, qkv + 2 * D + h * head_dim, ld, tokens * ld, Pt + h * TT,
               tokens, heads * TT, 0.0f, out + h * head_dim, D, tokens * D, batch);
}

template <class T>
void CudaOps::attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const ops::acc_t<T>* saved,
                                 i64 batch, i64 tokens, i64 heads, i64 head_dim) {
  const i64 D = heads * head_dim, ld = 3 * D, TT = tokens * tokens, scores = batch * heads * TT;
  if (batch * tokens * heads == 0) return;
  if (fused<T>(head_dim)) {  // saved: the forward's log-sum-exp; null: the forward again, into scratch
    if (saved) return fused_attention_backward(dqkv, dout, qkv, out, saved, batch, tokens, heads);
    cuda::Scratch lse(batch * heads * tokens * sizeof(float)), again(batch * tokens * D * sizeof(T));
    fused_attention_forward(again.as<T>(), lse.as<float>(), qkv, batch, tokens, heads);
    return fused_attention_backward(dqkv, dout, qkv, again.as<T>(), lse.as<float>(), batch, tokens, heads);
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  cuda::Scratch recomputed(saved ? 0 : scores * sizeof(float));
  cuda::Scratch ds_buffer(scores * sizeof(float));
  float* dS = ds_buffer.as<float>();
  std::optional<cuda::Scratch> p_copy, ds_copy;
  cuda::bf16* Pb = bf16_copy<T>(p_copy, scores);
  if (saved) {
    if (Pb) cuda::to_bf16(Pb, saved, scores);  // the saved fp32 probabilities, as the bf16 operand
  } else {
    attention_probs(recomputed.as<float>(), Pb, qkv, batch, tokens, heads, head_dim);
  }
  const float* P = saved ? saved : recomputed.as<float>();
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
  template std::int64_t CudaOps::attention_saved_count<T>(std::int64_t, std::int64_t, std::int64_t, std::int64_t); \
  template void CudaOps::attention_forward<T>(T*, float*, const T*, std::int64_t, std::int64_t, std::int64_t,      \
                                              std::int64_t);                                                       \
  template void CudaOps::attention_backward<T>(T*, const T*, const T*, const T*, const float*, std::int64_t,       \
                                               std::int64_t, std::int64_t, std::int64_t);
HRM_ATTENTION(float)
HRM_ATTENTION(cuda::bf16)
#undef HRM_ATTENTION

}  // namespace hrm
