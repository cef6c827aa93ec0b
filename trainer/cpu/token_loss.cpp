// token_loss.cpp: the per-token cross entropy of HRM's loss head (HRM-SPEC 2.1-2.3, 11.1 item 8).
//
// Shapes: logits, dlogits (batch, seq_len, vocab); labels, argmax (batch, seq_len) int32;
// seq (batch) SeqLoss; seq_scale (batch) double.
//   token_loss_forward:  argmax = first index of the max logit (every token, ignored or not)    (=)
//                        n = tokens with label != -100, divisor = max(n, 1);
//                        seq[b].loss = sum over those tokens of CE / divisor (the per-sequence
//                        mean; 0 when n = 0), .correct = tokens with argmax == label, .count = n
//   token_loss_backward: dlogits = seq_scale[b] * d(seq[b].loss)/dlogits; ignored tokens get 0   (=)
// stablemax: s(x) = 1/(1 - x + 1e-30) for x < 0, x + 1 for x >= 0; p = s / sum(s); CE = -log p_label,
//            always in float64 (HRM upcasts): a float32 sum would drop small s next to a large one.
//            d CE/dx_j = s'(x_j)/sum(s) - [j == label] s'(x_label)/s(x_label), s' = s^2 (x < 0) or 1.
// softmax:   standard CE in the working precision T: -((x_label - max) - log(sum exp(x - max))).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/error.hpp"
#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/cpu/kernel_common.hpp"

namespace hrm {
namespace {

using ops::kIgnoreLabel;
using ops::LossType;


double stablemax_s(double x) { return x < 0 ? 1.0 / (1.0 - x + 1e-30) : x + 1.0; }
// s'(x): 1/(1-x+eps)^2 = s^2 below zero; 1 from zero up (torch.where takes the x + 1 branch at 0).
double stablemax_ds(double x) {
  const double s = stablemax_s(x);
  return x < 0 ? s * s : 1.0;
}

template <class T> std::int32_t first_argmax(const T* row, std::int64_t vocab) {
  std::int32_t best = 0;
  for (std::int64_t j = 1; j < vocab; ++j)
    if (row[j] > row[best]) best = static_cast<std::int32_t>(j);  // strict: ties keep the first
  return best;
}

template <class T> double stablemax_ce(const T* row, std::int64_t vocab, std::int32_t label) {
  double sum = 0;
  for (std::int64_t j = 0; j < vocab; ++j) sum += stablemax_s(static_cast<double>(row[j]));
  return -std::log(stablemax_s(static_cast<double>(row[label])) / sum);
}

template <class T> T row_max(const T* row, std::int64_t vocab) {
  T m = row[0];
  for (std::int64_t j = 1; j < vocab; ++j) m = std::max(m, row[j]);
  return m;
}

template <class T> T softmax_ce(const T* row, std::int64_t vocab, std::int32_t label) {
  const T m = row_max(row, vocab);
  T sum = 0;
  for (std::int64_t j = 0; j < vocab; ++j) sum += std::exp(row[j] - m);
  return -((row[label] - m) - std::log(sum));
}

// Run before any parallel region: an exception must not escape an OpenMP block.
void check_labels(const std::int32_t* labels, std::int64_t count, std::int64_t vocab) {
  HRM_CHECK(vocab >= 1, "token loss: vocab {} must be positive", vocab);
  for (std::int64_t i = 0; i < count; ++i)
    HRM_CHECK(labels[i] == kIgnoreLabel || (labels[i] >= 0 && labels[i] < vocab),
              "token loss: label {} at position {} is neither {} nor in [0, {})", labels[i], i, kIgnoreLabel, vocab);
}

std::int32_t count_labels(const std::int32_t* labels, std::int64_t seq_len) {
  std::int32_t n = 0;
  for (std::int64_t s = 0; s < seq_len; ++s) n += labels[s] != kIgnoreLabel;
  return n;
}

}  // namespace

template <class T>
void CpuOps::token_loss_forward(ops::SeqLoss* seq, i32* argmax, const T* logits, const i32* labels, i64 batch,
                                i64 seq_len, i64 vocab, ops::LossType type) {
  check_labels(labels, batch * seq_len, vocab);
#pragma omp parallel for schedule(static) if (batch * seq_len * vocab >= kElementwiseParallelMin)
  for (i64 b = 0; b < batch; ++b) {
    const i32* lab = labels + b * seq_len;
    ops::SeqLoss out;
    out.count = count_labels(lab, seq_len);
    const double divisor = std::max(out.count, 1);
    for (i64 s = 0; s < seq_len; ++s) {
      const T* row = logits + (b * seq_len + s) * vocab;
      const i32 best = first_argmax(row, vocab);
      argmax[b * seq_len + s] = best;
      if (lab[s] == kIgnoreLabel) continue;
      out.correct += best == lab[s];
      const double ce = type == LossType::stablemax ? stablemax_ce(row, vocab, lab[s])
                                                    : static_cast<double>(softmax_ce(row, vocab, lab[s]));
      out.loss += ce / divisor;  // per token, as HRM divides before its sum
    }
    seq[b] = out;
  }
}

template <class T>
void CpuOps::token_loss_backward(T* dlogits, const T* logits, const i32* labels, const double* seq_scale, i64 batch,
                                 i64 seq_len, i64 vocab, ops::LossType type) {
  check_labels(labels, batch * seq_len, vocab);
  HRM_CHECK(seq_scale != nullptr, "token_loss_backward: seq_scale is required");
#pragma omp parallel for schedule(static) if (batch * seq_len * vocab >= kElementwiseParallelMin)
  for (i64 b = 0; b < batch; ++b) {
    const i32* lab = labels + b * seq_len;
    const double factor = seq_scale[b] / std::max(count_labels(lab, seq_len), 1);
    for (i64 s = 0; s < seq_len; ++s) {
      const T* row = logits + (b * seq_len + s) * vocab;
      T* drow = dlogits + (b * seq_len + s) * vocab;
      const i32 l = lab[s];
      if (l == kIgnoreLabel) {
        std::fill(drow, drow + vocab, T(0));
      } else if (type == LossType::stablemax) {
        double sum = 0;
        for (i64 j = 0; j < vocab; ++j) sum += stablemax_s(static_cast<double>(row[j]));
        for (i64 j = 0; j < vocab; ++j) {
          const double xj = static_cast<double>(row[j]);
          double g = stablemax_ds(xj) / sum;
          if (j == l) g -= stablemax_ds(xj) / stablemax_s(xj);
          drow[j] = static_cast<T>(factor * g);
        }
      } else {
        const T m = row_max(row, vocab);
        T sum = 0;
        for (i64 j = 0; j < vocab; ++j) sum += std::exp(row[j] - m);
        const T f = static_cast<T>(factor);
        for (i64 j = 0; j < vocab; ++j) drow[j] = f * (std::exp(row[j] - m) / sum - (j == l ? T(1) : T(0)));
      }
    }
  }
}

template void CpuOps::token_loss_forward<float>(ops::SeqLoss*, std::int32_t*, const float*, const std::int32_t*,
                                                std::int64_t, std::int64_t, std::int64_t, ops::LossType);
template void CpuOps::token_loss_forward<double>(ops::SeqLoss*, std::int32_t*, const double*, const std::int32_t*,
                                                 std::int64_t, std::int64_t, std::int64_t, ops::LossType);
template void CpuOps::token_loss_backward<float>(float*, const float*, const std::int32_t*, const double*,
                                                 std::int64_t, std::int64_t, std::int64_t, ops::LossType);
template void CpuOps::token_loss_backward<double>(double*, const double*, const std::int32_t*, const double*,
                                                  std::int64_t, std::int64_t, std::int64_t, ops::LossType);

}  // namespace hrm
