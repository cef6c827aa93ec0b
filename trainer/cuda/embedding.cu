// embedding.cu: the scaled input embedding (HRM-SPEC 1.4), forward and backward.
//
// Shapes: inputs (batch, seq) int32; tok, dtok (vocab, d); puzzle, dpuzzle (batch, prefix*d), the
// puzzle vector already zero-padded to prefix*d; pos, dpos (prefix+seq, d); x, dx (batch, prefix+seq, d).
//   embedding_forward:  e = [puzzle rows (zeros when puzzle is null) | tok[inputs]];
//                       with pos: e = 0.707106781 * (e + pos); x = sqrt(d) * e                (=)
//   embedding_backward: g = sqrt(d) * dx, times 0.707106781 when learned positions are on (dpos given);
//                       dtok[inputs] += g, dpos += sum over batch of g   (+=; null: skipped)
//                       dpuzzle = g on the prefix rows                    (=;  null: skipped)
// Every product is rounded in T in HRM's order (no multiply-add to contract), and every sum runs in
// the CPU backend's order, so forward and backward are bit-identical to it (and run to run):
//  - dpos, dpuzzle: one thread per (token, feature), walking the batch in order;
//  - dtok: one thread per feature, walking all rows in order (a token row may repeat, so no other
//    split keeps the order without atomics). Only d threads: an estimated millisecond at HRM's sizes
//    (not measured), once per step; a segmented sum per (id, feature) is the faster deterministic way.
// A negative token id sets kNegativeTokenId (CudaOps::check_errors) and reads as a zero row.
#include <cmath>

#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm {
namespace {

using cuda::i64;
using i32 = std::int32_t;

constexpr double kPosScale = 0.707106781;  // HRM's literal (not exactly 1/sqrt(2))

// A float product rounded on its own, never contracted into a multiply-add with a following sum.
__device__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }

template <class T>
__global__ void embedding_forward_kernel(T* x, const i32* inputs, const T* tok, const T* puzzle, const T* pos,
                                         i64 seq, i64 prefix, i64 d, T scale, T c, i64 count, unsigned* errors) {
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
  T v = src ? src[col] : T(0);
  if (pos) v = mul_rn(v + pos[t * d + col], c);
  x[i] = mul_rn(v, scale);
}

// Backward of x = sqrt(d) * (0.707106781 * e'): the two scalings in reverse order (the second only
// with learned positions).
template <class T> __device__ T embedding_grad(T dx, T scale, T c, bool learned_pos) {
  const T g = mul_rn(dx, scale);
  return learned_pos ? mul_rn(g, c) : g;
}

template <class T>
__global__ void embedding_pos_puzzle_kernel(T* dpuzzle, T* dpos, const T* dx, i64 batch, i64 tokens, i64 prefix, i64 d,
                                            T scale, T c) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= tokens * d) return;
  const i64 t = i / d, col = i % d;
  T acc = dpos ? dpos[i] : T(0);
  for (i64 b = 0; b < batch; ++b) {
    const T g = embedding_grad(dx[(b * tokens + t) * d + col], scale, c, dpos != nullptr);
    if (dpos) acc += g;
    if (t < prefix && dpuzzle) dpuzzle[(b * prefix + t) * d + col] = g;
  }
  if (dpos) dpos[i] = acc;
}

template <class T>
__global__ void embedding_tok_kernel(T* dtok, const T* dx, const i32* inputs, bool learned_pos, i64 batch, i64 seq,
                                     i64 prefix, i64 d, T scale, T c, unsigned* errors) {
  const i64 col = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (col >= d) return;
  const i64 tokens = prefix + seq;
  for (i64 r = 0; r < batch * tokens; ++r) {
    const i64 b = r / tokens, t = r % tokens;
    if (t < prefix) continue;
    const i32 id = inputs[b * seq + t - prefix];
    if (id < 0) {
      atomicOr(errors, cuda::kNegativeTokenId);
      continue;
    }
    dtok[static_cast<i64>(id) * d + col] += embedding_grad(dx[r * d + col], scale, c, learned_pos);
  }
}

}  // namespace

template <class T>
void CudaOps::embedding_forward(T* x, const i32* inputs, const T* tok, const T* puzzle, const T* pos, i64 batch,
                                i64 seq, i64 prefix, i64 d) {
  const i64 count = batch * (prefix + seq) * d;
  if (count == 0) return;
  const T scale = static_cast<T>(std::sqrt(static_cast<double>(d)));
  embedding_forward_kernel<<<cuda::grid_for(count), cuda::kThreads, 0, cuda::stream()>>>(
      x, inputs, tok, puzzle, pos, seq, prefix, d, scale, static_cast<T>(kPosScale), count, cuda::error_word());
  HRM_CUDA_CHECK_LAUNCH(embedding_forward_kernel);
}

template <class T>
void CudaOps::embedding_backward(T* dtok, T* dpuzzle, T* dpos, const T* dx, const i32* inputs, i64 batch, i64 seq,
                                 i64 prefix, i64 d) {
  const i64 count = (prefix + seq) * d;
  if (count == 0 || batch == 0) return;
  const T scale = static_cast<T>(std::sqrt(static_cast<double>(d))), c = static_cast<T>(kPosScale);
  if (dpos || dpuzzle) {
    embedding_pos_puzzle_kernel<<<cuda::grid_for(count), cuda::kThreads, 0, cuda::stream()>>>(
        dpuzzle, dpos, dx, batch, prefix + seq, prefix, d, scale, c);
    HRM_CUDA_CHECK_LAUNCH(embedding_pos_puzzle_kernel);
  }
  if (dtok) {
    embedding_tok_kernel<<<cuda::grid_for(d, cuda::kRowThreads), cuda::kRowThreads, 0, cuda::stream()>>>(
        dtok, dx, inputs, dpos != nullptr, batch, seq, prefix, d, scale, c, cuda::error_word());
    HRM_CUDA_CHECK_LAUNCH(embedding_tok_kernel);
  }
}

template void CudaOps::embedding_forward<float>(float*, const std::int32_t*, const float*, const float*, const float*,
                                                std::int64_t, std::int64_t, std::int64_t, std::int64_t);
template void CudaOps::embedding_backward<float>(float*, float*, float*, const float*, const std::int32_t*,
                                                 std::int64_t, std::int64_t, std::int64_t, std::int64_t);

}  // namespace hrm
