// embedding.cu: the scaled input embedding (HRM-SPEC 1.4), forward and backward.
//
// Shapes: inputs (batch, seq) int32; tok, dtok (vocab, d); puzzle, dpuzzle (batch, prefix*d), the
// puzzle vector already zero-padded to prefix*d; pos, dpos (prefix+seq, d); x, dx (batch, prefix+seq, d).
//   embedding_forward:  e = [puzzle rows (zeros when puzzle is null) | tok[inputs]];
//                       with pos: e = 0.707106781 * (e + pos); x = sqrt(d) * e                (=)
//   embedding_backward: g = sqrt(d) * dx, times 0.707106781 when learned positions are on (dpos given);
//                       dtok[inputs] += g, dpos += sum over batch of g   (+=; null: skipped)
//                       dpuzzle = g on the prefix rows                    (=;  null: skipped)
// Every product is rounded in T in HRM's order (no multiply-add to contract; bf16: computed in fp32
// and rounded to bf16 after each op, as torch's bf16 ops do), and every sum runs in the CPU backend's
// order, so forward and backward are bit-identical to it (and run to run) in fp32. The gradients
// (dtok, dpos, dpuzzle: acc_t, fp32) are summed in fp32:
//  - dpos, dpuzzle: one thread per (token, feature), walking the batch in order (only the prefix
//    rows without dpos);
//  - dtok: one thread per (token id, feature) for ids below kTokSlots, walking the input tokens in
//    order and adding its id's rows in a register (it reads its dtok element at the first one, so an
//    id that never occurs reads nothing: the kernel needs no vocabulary size); ids from kTokSlots up
//    (HRM's vocabularies have 6 to 12) go to one fallback thread per feature that adds in place, in
//    the same order. The ids come through shared memory a tile at a time, shared by the block.
// A negative token id sets kNegativeTokenId (CudaOps::check_errors) and reads as a zero row.
#include <cmath>

#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm {
namespace {

using cuda::from_f32;
using cuda::i64;
using cuda::round_as;
using cuda::to_f32;
using i32 = std::int32_t;

constexpr double kPosScale = 0.707106781;  // HRM's literal (not exactly 1/sqrt(2))

// A float product rounded on its own, never contracted into a multiply-add with a following sum.
__device__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }

template <class T>
__global__ void embedding_forward_kernel(T* x, const i32* inputs, const T* tok, const T* puzzle, const T* pos,
                                         i64 seq, i64 prefix, i64 d, float scale, float c, i64 count,
                                         unsigned* errors) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const i64 tokens = prefix + seq, col = i % d, r = i / d, b = r / tokens, t = r % tokens;
  const T* src = nullptr;
  if (t < prefix) {
    if (puzzle) src = puzzle + (b * prefix + t) * d;
  } else {
    const i32 id = inputs[b * seq + t - prefix];
    if (id >= 0)
      src = tok + static_cast<i64>(id) * d;
    else
      atomicOr(errors, cuda::kNegativeTokenId);
  }
  float v = src ? to_f32(src[col]) : 0.0f;
  if (pos) v = round_as<T>(mul_rn(round_as<T>(v + to_f32(pos[t * d + col])), c));
  x[i] = from_f32<T>(mul_rn(v, scale));
}

// Backward of x = sqrt(d) * (0.707106781 * e'): the two scalings in reverse order (the second only
// with learned positions), each rounded to T as the forward's.
template <class T> __device__ float embedding_grad(T dx, float scale, float c, bool learned_pos) {
  const float g = round_as<T>(mul_rn(to_f32(dx), scale));
  return learned_pos ? round_as<T>(mul_rn(g, c)) : g;
}

// Threads cover rows [0, rows) of the (tokens, d) table: all of them with dpos, the prefix without.
template <class T>
__global__ void embedding_pos_puzzle_kernel(float* dpuzzle, float* dpos, const T* dx, i64 batch, i64 tokens, i64 rows,
                                            i64 prefix, i64 d, float scale, float c) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * d) return;
  const i64 t = i / d, col = i % d;
  float acc = dpos ? dpos[i] : 0.0f;
  for (i64 b = 0; b < batch; ++b) {
    const float g = embedding_grad(dx[(b * tokens + t) * d + col], scale, c, dpos != nullptr);
    if (dpos) acc += g;
    if (t < prefix && dpuzzle) dpuzzle[(b * prefix + t) * d + col] = g;
  }
  if (dpos) dpos[i] = acc;
}

constexpr int kTokSlots = 64;  // token ids with a register accumulator each (blockIdx.y); the last y: the rest
constexpr int kIdTile = 2048;  // input token ids staged in shared memory at a time

// dtok[id] += g of every input token with that id, in token order. Block (x, y): features
// [128 x, 128 x + 128) of id y (y < kTokSlots), or of every id >= kTokSlots (y = kTokSlots).
template <class T>
__global__ void embedding_tok_kernel(float* dtok, const T* __restrict__ dx, const i32* __restrict__ inputs,
                                     bool learned_pos, i64 batch, i64 seq, i64 prefix, i64 d, float scale, float c,
                                     unsigned* errors) {
  __shared__ i32 ids[kIdTile];
  const i64 col = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x, tokens = prefix + seq, n = batch * seq;
  const i32 slot = static_cast<i32>(blockIdx.y);
  const bool fallback = slot == kTokSlots;
  float acc = 0;
  bool seen = false;
  for (i64 base = 0; base < n; base += kIdTile) {
    const i64 len = n - base < kIdTile ? n - base : kIdTile;
    __syncthreads();  // the previous tile is read by every thread
    for (i64 k = threadIdx.x; k < len; k += blockDim.x) ids[k] = inputs[base + k];
    __syncthreads();
    if (col >= d) continue;
    for (i64 k = 0; k < len; ++k) {
      const i32 id = ids[k];
      if (fallback ? id < kTokSlots : id != slot) {
        if (fallback && id < 0 && col == 0) atomicOr(errors, cuda::kNegativeTokenId);
        continue;
      }
      const i64 q = base + k, row = (q / seq) * tokens + prefix + q % seq;  // input token q's row of dx
      const float g = embedding_grad(dx[row * d + col], scale, c, learned_pos);
      float* out = dtok + static_cast<i64>(id) * d + col;
      if (fallback) {
        *out += g;
      } else {
        acc = (seen ? acc : *out) + g;
        seen = true;
      }
    }
  }
  if (seen) dtok[static_cast<i64>(slot) * d + col] = acc;
}

}  // namespace

template <class T>
void CudaOps::embedding_forward(T* x, const i32* inputs, const T* tok, const T* puzzle, const T* pos, i64 batch,
                                i64 seq, i64 prefix, i64 d) {
  const i64 count = batch * (prefix + seq) * d;
  if (count == 0) return;
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(d)));
  embedding_forward_kernel<<<cuda::grid_for(count), cuda::kThreads, 0, cuda::stream()>>>(
      x, inputs, tok, puzzle, pos, seq, prefix, d, scale, static_cast<float>(kPosScale), count, cuda::error_word());
  HRM_CUDA_CHECK_LAUNCH(embedding_forward_kernel);
}

template <class T>
void CudaOps::embedding_backward(ops::acc_t<T>* dtok, ops::acc_t<T>* dpuzzle, ops::acc_t<T>* dpos, const T* dx,
                                 const i32* inputs, i64 batch, i64 seq, i64 prefix, i64 d) {
  const i64 count = (prefix + seq) * d;
  if (count == 0 || batch == 0) return;
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(d))), c = static_cast<float>(kPosScale);
  const i64 rows = dpos ? prefix + seq : prefix;  // without dpos only the puzzle rows have work
  if ((dpos || dpuzzle) && rows > 0) {
    embedding_pos_puzzle_kernel<<<cuda::grid_for(rows * d), cuda::kThreads, 0, cuda::stream()>>>(
        dpuzzle, dpos, dx, batch, prefix + seq, rows, prefix, d, scale, c);
    HRM_CUDA_CHECK_LAUNCH(embedding_pos_puzzle_kernel);
  }
  if (dtok && seq > 0) {
    const dim3 grid(cuda::grid_for(d, cuda::kRowThreads), kTokSlots + 1);
    embedding_tok_kernel<<<grid, cuda::kRowThreads, 0, cuda::stream()>>>(dtok, dx, inputs, dpos != nullptr, batch, seq,
                                                                         prefix, d, scale, c, cuda::error_word());
    HRM_CUDA_CHECK_LAUNCH(embedding_tok_kernel);
  }
}

#define HRM_EMBEDDING(T)                                                                                         \
  template void CudaOps::embedding_forward<T>(T*, const std::int32_t*, const T*, const T*, const T*, std::int64_t, \
                                              std::int64_t, std::int64_t, std::int64_t);                          \
  template void CudaOps::embedding_backward<T>(float*, float*, float*, const T*, const std::int32_t*, std::int64_t, \
                                               std::int64_t, std::int64_t, std::int64_t);
HRM_EMBEDDING(float)
HRM_EMBEDDING(cuda::bf16)
#undef HRM_EMBEDDING

}  // namespace hrm
