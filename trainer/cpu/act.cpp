// act.cpp: the ACT wrapper's ops (act_reset, act_halt, act_q_grad, act_metrics; trainer/ops/ops.hpp)
// on host memory: slot loops over trainer/ops/act_math.hpp's per-slot formulas.
#include <algorithm>
#include <cstdint>

#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/ops/act_math.hpp"

namespace hrm {

using u8 = std::uint8_t;

template <class T>
void CpuOps::act_reset(T* zH, T* zL, i32* steps, i32* inputs, i32* labels, i32* puzzle_ids, const T* H_init,
                       const T* L_init, const u8* halted, const i32* in_inputs, const i32* in_labels,
                       const i32* in_puzzle_ids, i64 batch, i64 tokens, i64 hidden, i64 seq_len) {
  const i64 TD = tokens * hidden, S = seq_len;
  for (i64 i = 0; i < batch; ++i) {
    if (!halted[i]) continue;
    for (i64 t = 0; t < tokens; ++t) {
      std::copy(H_init, H_init + hidden, zH + i * TD + t * hidden);
      std::copy(L_init, L_init + hidden, zL + i * TD + t * hidden);
    }
    steps[i] = 0;
    std::copy(in_inputs + i * S, in_inputs + (i + 1) * S, inputs + i * S);
    std::copy(in_labels + i * S, in_labels + (i + 1) * S, labels + i * S);
    puzzle_ids[i] = in_puzzle_ids[i];
  }
}

template <class T>
void CpuOps::act_halt(i32* steps, u8* halted, const T* q, const i32* min_halt_steps, i64 batch, i64 halt_max_steps,
                      bool explore) {
  for (i64 i = 0; i < batch; ++i) ops::act_halt_slot(steps, halted, q, min_halt_steps, i, halt_max_steps, explore);
}

template <class T>
void CpuOps::act_q_grad(ops::acc_t<T>* target, T* dq, const T* q, const T* q_next, const ops::SeqLoss* seq,
                        const i32* steps, i64 batch, i64 halt_max_steps, bool q_continue, double loss_scale) {
  for (i64 i = 0; i < batch; ++i)
    ops::act_q_grad_slot(target, dq, q, q_next, seq, steps, i, halt_max_steps, q_continue, loss_scale);
}

template <class T>
void CpuOps::act_metrics(ops::ActStepStats* stats, const ops::SeqLoss* seq, const T* q, const ops::acc_t<T>* target,
                         const u8* halted, const i32* steps, i64 batch, bool q_continue) {
  *stats = ops::act_metrics_sum(seq, q, target, halted, steps, batch, q_continue);
}

#define HRM_CPU_ACT_OPS(T)                                                                                          \
  template void CpuOps::act_reset<T>(T*, T*, i32*, i32*, i32*, i32*, const T*, const T*, const u8*, const i32*,     \
                                     const i32*, const i32*, i64, i64, i64, i64);                                   \
  template void CpuOps::act_halt<T>(i32*, u8*, const T*, const i32*, i64, i64, bool);                               \
  template void CpuOps::act_q_grad<T>(T*, T*, const T*, const T*, const ops::SeqLoss*, const i32*, i64, i64, bool,  \
                                      double);                                                                      \
  template void CpuOps::act_metrics<T>(ops::ActStepStats*, const ops::SeqLoss*, const T*, const T*, const u8*,      \
                                       const i32*, i64, bool);
HRM_CPU_ACT_OPS(float)
HRM_CPU_ACT_OPS(double)
#undef HRM_CPU_ACT_OPS

}  // namespace hrm
