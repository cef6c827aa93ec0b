// act_math.hpp: the per-slot arithmetic of the ACT ops (ops.hpp: act_halt, act_q_grad, act_metrics),
// written once for both backends: the CPU loops and the CUDA kernels call these functions slot by
// slot (host and device code under nvcc), so the formulas, and on the CPU their rounding, are HRM's
// in one place. Comparisons are written as std::max / std::abs evaluate them (a < b ? b : a), so a
// CPU caller rounds exactly as before the ops existed. The arithmetic is in acc_t<T> (T itself for
// float and double; fp32 for bf16 q logits, which HRM casts to fp32 before its Q losses).
#pragma once

#include <cmath>
#include <cstdint>

#include "trainer/ops/ops.hpp"

#if defined(__CUDACC__)
#define HRM_HOST_DEVICE __host__ __device__
#else
#define HRM_HOST_DEVICE
#endif

namespace hrm::ops {

template <class T> HRM_HOST_DEVICE T stable_sigmoid(T x) {
  return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}
// BCE with logits as torch computes it: max(x, 0) - x y + log1p(exp(-|x|)).
template <class T> HRM_HOST_DEVICE T bce_with_logits(T x, T y) {
  return (x < T(0) ? T(0) : x) - x * y + std::log1p(std::exp(-std::fabs(x)));
}

// act_halt for slot i.
template <class T>
HRM_HOST_DEVICE void act_halt_slot(std::int32_t* steps, std::uint8_t* halted, const T* q,
                                   const std::int32_t* min_halt_steps, std::int64_t i, std::int64_t halt_max_steps,
                                   bool explore) {
  steps[i] += 1;
  const bool is_last = steps[i] >= halt_max_steps;
  halted[i] = is_last;
  if (explore) {
    const bool halt = is_last || acc_t<T>(q[i * 2]) > acc_t<T>(q[i * 2 + 1]);
    halted[i] = halt && steps[i] >= min_halt_steps[i];
  }
}

// act_q_grad for slot i. Same sigmoid for prediction and target: at step 1 the q_continue gradient is
// exactly 0 (HRM-SPEC 11.1 item 7).
template <class T>
HRM_HOST_DEVICE void act_q_grad_slot(acc_t<T>* target, T* dq, const T* q, const T* q_next, const SeqLoss* seq,
                                     const std::int32_t* steps, std::int64_t i, std::int64_t halt_max_steps,
                                     bool q_continue, double loss_scale) {
  using A = acc_t<T>;
  if (q_continue) {
    const A qh = A(q_next[i * 2]), qc = A(q_next[i * 2 + 1]);
    target[i] = stable_sigmoid(steps[i] >= halt_max_steps ? qh : (qh < qc ? qc : qh));
  }
  const A half = static_cast<A>(0.5 * loss_scale);
  const A correct = seq[i].correct == seq[i].count ? A(1) : A(0);
  dq[i * 2] = T(half * (stable_sigmoid(A(q[i * 2])) - correct));
  dq[i * 2 + 1] = T(q_continue ? half * (stable_sigmoid(A(q[i * 2 + 1])) - target[i]) : A(0));
}

// act_metrics: the sums over slots 0..batch-1, in order.
template <class T>
HRM_HOST_DEVICE ActStepStats act_metrics_sum(const SeqLoss* seq, const T* q, const acc_t<T>* target,
                                             const std::uint8_t* halted, const std::int32_t* steps, std::int64_t batch,
                                             bool q_continue) {
  ActStepStats s;
  s.has_q_continue = q_continue;
  for (std::int64_t i = 0; i < batch; ++i) {
    const SeqLoss& sl = seq[i];
    const bool correct = sl.correct == sl.count;  // n = 0 counts as correct (HRM-SPEC 2.3)
    using A = acc_t<T>;
    const A qh = A(q[i * 2]);
    s.lm_loss += sl.loss;
    s.q_halt_loss += static_cast<double>(bce_with_logits(qh, correct ? A(1) : A(0)));
    if (q_continue) s.q_continue_loss += static_cast<double>(bce_with_logits(A(q[i * 2 + 1]), target[i]));
    if (halted[i] && sl.count > 0) {  // metrics only over valid = halted & n > 0 (2.4)
      s.count += 1;
      s.accuracy += static_cast<double>(sl.correct) / static_cast<double>(sl.count);
      s.exact_accuracy += correct;
      s.q_halt_accuracy += ((qh >= A(0)) == correct);
      s.steps += steps[i];
    }
  }
  s.total = s.lm_loss + 0.5 * (s.q_halt_loss + s.q_continue_loss);
  return s;
}

}  // namespace hrm::ops
