// token_loss.cu: the per-token cross entropy of HRM's loss head (HRM-SPEC 2.1-2.3, 11.1 item 8).
//
// Shapes: logits, dlogits (batch, seq_len, vocab); labels, argmax (batch, seq_len) int32;
// seq (batch) SeqLoss; seq_scale (batch) double. All device memory.
//   token_loss_forward:  argmax = first index of the max logit (every token, ignored or not)    (=)
//                        n = tokens with label != -100, divisor = max(n, 1);
//                        seq[b].loss = sum over those tokens of CE / divisor, .correct, .count = n
//   token_loss_backward: dlogits = seq_scale[b] * d(seq[b].loss)/dlogits; ignored tokens get 0   (=)
// stablemax in float64 whatever T is (HRM upcasts); softmax in fp32 (bf16 logits widened, as HRM's
// .to(float32)); the argmax on the logits as stored (bf16 ties are possible, first wins, HRM-SPEC 1.9).
// Formulas: trainer/cpu/token_loss.cpp.
// One block per sequence, one warp per token row (vocab is small: 11 for Sudoku, 12 for ARC). The
// per-token terms CE / divisor are summed by one thread in token order, as the CPU backend does;
// only the sums over the vocabulary (a warp reduction) are in another order.
// A label neither -100 nor in [0, vocab) sets kBadLabel (CudaOps::check_errors) and counts as ignored.
#include "common/error.hpp"
#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm {
namespace {

using cuda::from_f32;
using cuda::i64;
using cuda::to_f32;
using i32 = std::int32_t;
using ops::kIgnoreLabel;
using ops::LossType;

constexpr int kLossThreads = 256;  // 8 warps: 8 token rows at a time
constexpr i64 kMaxSeqLen = 4096;   // the per-token terms live in shared memory (8 bytes each)

__device__ double stablemax_s(double x) { return x < 0 ? 1.0 / (1.0 - x + 1e-30) : x + 1.0; }
// s'(x): s^2 below zero; 1 from zero up (torch.where takes the x + 1 branch at 0).
__device__ double stablemax_ds(double x) {
  const double s = stablemax_s(x);
  return x < 0 ? s * s : 1.0;
}

__device__ bool valid_label(i32 l, i64 vocab) { return l >= 0 && l < vocab; }

// The labelled tokens of this block's sequence (every thread gets n); flags bad labels.
__device__ i32 count_labels(const i32* lab, i64 seq_len, i64 vocab, unsigned* errors) {
  __shared__ i32 shared[32];
  i32 n = 0;
  for (i64 s = threadIdx.x; s < seq_len; s += blockDim.x) {
    const i32 l = lab[s];
    if (valid_label(l, vocab))
      ++n;
    else if (l != kIgnoreLabel)
      atomicOr(errors, cuda::kBadLabel);
  }
  return cuda::block_reduce(n, cuda::SumOp{}, 0, shared);
}

// First index of the row's maximum, to every lane of the warp, as the CPU's scan (best = 0; j wins
// if row[j] > row[best]) finds it: a NaN never wins, and a NaN at index 0 is never beaten.
template <class T> __device__ i32 warp_argmax(const T* row, i64 vocab) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const auto better = [&](i32 a, i32 b) {  // a is the CPU scan's pick over a and b
    const float x = to_f32(row[a]), y = to_f32(row[b]);
    return !isnan(x) && (isnan(y) || x > y || (x == y && a < b));
  };
  i32 best = lane < vocab ? lane : 0;
  for (i64 j = lane + 32; j < vocab; j += 32)
    if (better(static_cast<i32>(j), best)) best = static_cast<i32>(j);
  for (int o = 16; o > 0; o >>= 1) {
    const i32 other = __shfl_xor_sync(0xffffffffu, best, o);
    if (better(other, best)) best = other;
  }
  return isnan(to_f32(row[0])) ? 0 : best;
}

template <class T> __device__ float warp_row_max(const T* row, i64 vocab) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  float m = to_f32(row[0]);
  for (i64 j = lane; j < vocab; j += 32) m = m > to_f32(row[j]) ? m : to_f32(row[j]);
  return cuda::warp_reduce(m, cuda::MaxOp{});
}

template <class T> __device__ float warp_exp_sum(const T* row, i64 vocab, float m) {
  float sum = 0;
  for (i64 j = static_cast<int>(threadIdx.x) & 31; j < vocab; j += 32) sum += exp(to_f32(row[j]) - m);
  return cuda::warp_reduce(sum, cuda::SumOp{});
}

template <class T> __device__ double warp_stablemax_sum(const T* row, i64 vocab) {
  double sum = 0;
  for (i64 j = static_cast<int>(threadIdx.x) & 31; j < vocab; j += 32)
    sum += stablemax_s(static_cast<double>(to_f32(row[j])));
  return cuda::warp_reduce(sum, cuda::SumOp{});
}

template <class T>
__global__ void token_loss_forward_kernel(ops::SeqLoss* seq, i32* argmax, const T* logits, const i32* labels,
                                          i64 seq_len, i64 vocab, LossType type, unsigned* errors) {
  extern __shared__ double term[];  // (seq_len): CE / divisor of each labelled token
  __shared__ i32 correct;
  const i64 b = blockIdx.x;
  const i32* lab = labels + b * seq_len;
  if (threadIdx.x == 0) correct = 0;
  const i32 n = count_labels(lab, seq_len, vocab, errors);  // ends with a barrier
  const double divisor = n > 1 ? n : 1;
  const int lane = static_cast<int>(threadIdx.x) & 31, warp = static_cast<int>(threadIdx.x) >> 5;
  for (i64 s = warp; s < seq_len; s += blockDim.x / 32) {
    const T* row = logits + (b * seq_len + s) * vocab;
    const i32 best = warp_argmax(row, vocab), l = lab[s];
    if (lane == 0) argmax[b * seq_len + s] = best;
    if (!valid_label(l, vocab)) continue;  // the same for the whole warp
    double ce;
    if (type == LossType::stablemax) {
      ce = -log(stablemax_s(static_cast<double>(to_f32(row[l]))) / warp_stablemax_sum(row, vocab));
    } else {
      const float m = warp_row_max(row, vocab);
      ce = static_cast<double>(-((to_f32(row[l]) - m) - log(warp_exp_sum(row, vocab, m))));
    }
    if (lane == 0) {
      term[s] = ce / divisor;
      if (best == l) atomicAdd(&correct, 1);
    }
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  ops::SeqLoss out;
  for (i64 s = 0; s < seq_len; ++s)
    if (valid_label(lab[s], vocab)) out.loss += term[s];
  out.correct = correct;
  out.count = n;
  seq[b] = out;
}

template <class T>
__global__ void token_loss_backward_kernel(T* dlogits, const T* logits, const i32* labels, const double* seq_scale,
                                           i64 seq_len, i64 vocab, LossType type, unsigned* errors) {
  const i64 b = blockIdx.x;
  const i32* lab = labels + b * seq_len;
  const i32 n = count_labels(lab, seq_len, vocab, errors);
  const double factor = seq_scale[b] / (n > 1 ? n : 1);
  const int lane = static_cast<int>(threadIdx.x) & 31, warp = static_cast<int>(threadIdx.x) >> 5;
  for (i64 s = warp; s < seq_len; s += blockDim.x / 32) {
    const T* row = logits + (b * seq_len + s) * vocab;
    T* drow = dlogits + (b * seq_len + s) * vocab;
    const i32 l = lab[s];
    if (!valid_label(l, vocab)) {
      for (i64 j = lane; j < vocab; j += 32) drow[j] = from_f32<T>(0.0f);
    } else if (type == LossType::stablemax) {
      const double sum = warp_stablemax_sum(row, vocab);
      for (i64 j = lane; j < vocab; j += 32) {
        const double xj = static_cast<double>(to_f32(row[j]));
        double g = stablemax_ds(xj) / sum;
        if (j == l) g -= stablemax_ds(xj) / stablemax_s(xj);
        drow[j] = from_f32<T>(static_cast<float>(factor * g));
      }
    } else {
      const float m = warp_row_max(row, vocab);
      const float sum = warp_exp_sum(row, vocab, m), f = static_cast<float>(factor);
      for (i64 j = lane; j < vocab; j += 32)
        drow[j] = from_f32<T>(f * (exp(to_f32(row[j]) - m) / sum - (j == l ? 1.0f : 0.0f)));
    }
  }
}

void check_sizes(i64 seq_len, i64 vocab) {
  HRM_CHECK(vocab >= 1, "token loss: vocab {} must be positive", vocab);
  HRM_CHECK(seq_len <= kMaxSeqLen, "token loss: seq_len {} exceeds the CUDA kernel's {}", seq_len, kMaxSeqLen);
}

}  // namespace

template <class T>
void CudaOps::token_loss_forward(ops::SeqLoss* seq, i32* argmax, const T* logits, const i32* labels, i64 batch,
                                 i64 seq_len, i64 vocab, ops::LossType type) {
  check_sizes(seq_len, vocab);
  if (batch == 0) return;
  token_loss_forward_kernel<<<cuda::grid_for(batch, 1), kLossThreads, seq_len * sizeof(double), cuda::stream()>>>(
      seq, argmax, logits, labels, seq_len, vocab, type, cuda::error_word());
  HRM_CUDA_CHECK_LAUNCH(token_loss_forward_kernel);
}

template <class T>
void CudaOps::token_loss_backward(T* dlogits, const T* logits, const i32* labels, const double* seq_scale, i64 batch,
                                  i64 seq_len, i64 vocab, ops::LossType type) {
  check_sizes(seq_len, vocab);
  HRM_CHECK(seq_scale != nullptr, "token_loss_backward: seq_scale is required");
  if (batch == 0) return;
  token_loss_backward_kernel<<<cuda::grid_for(batch, 1), kLossThreads, 0, cuda::stream()>>>(
      dlogits, logits, labels, seq_scale, seq_len, vocab, type, cuda::error_word());
  HRM_CUDA_CHECK_LAUNCH(token_loss_backward_kernel);
}

#define HRM_TOKEN_LOSS(T)                                                                                         \
  template void CudaOps::token_loss_forward<T>(ops::SeqLoss*, std::int32_t*, const T*, const std::int32_t*,       \
                                               std::int64_t, std::int64_t, std::int64_t, ops::LossType);          \
  template void CudaOps::token_loss_backward<T>(T*, const T*, const std::int32_t*, const double*, std::int64_t,    \
                                                std::int64_t, std::int64_t, ops::LossType);
HRM_TOKEN_LOSS(float)
HRM_TOKEN_LOSS(cuda::bf16)
#undef HRM_TOKEN_LOSS

}  // namespace hrm
