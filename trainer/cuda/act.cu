// act.cu: the ACT wrapper's ops (act_reset, act_halt, act_q_grad, act_metrics; trainer/ops/ops.hpp)
// on the device, over trainer/ops/act_math.hpp's per-slot formulas (the CPU backend's, compiled for
// the device too):
//   act_reset:   one block per slot; a halted slot's threads write its token rows and incoming data;
//   act_halt, act_q_grad: one thread per slot;
//   act_metrics: one thread summing the slots in order (the CPU's order; the batch is hundreds of
//                slots), writing one ActStepStats for Ops::download.
// Differences from the CPU: exp / log1p are CUDA's (within 2 ulp), so sigmoid, BCE and the float
// dq / target may differ in the last bits; comparisons, counts and steps are exact.
#include <climits>

#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"
#include "trainer/ops/act_math.hpp"

namespace hrm {
namespace {

using cuda::i64;
using i32 = std::int32_t;
using u8 = std::uint8_t;

template <class T>
__global__ void act_reset_kernel(T* zH, T* zL, i32* steps, i32* inputs, i32* labels, i32* puzzle_ids, const T* H_init,
                                 const T* L_init, const u8* halted, const i32* in_inputs, const i32* in_labels,
                                 const i32* in_puzzle_ids, i64 tokens, i64 hidden, i64 seq_len) {
  const i64 i = blockIdx.x;
  if (!halted[i]) return;
  const i64 TD = tokens * hidden;
  for (i64 k = threadIdx.x; k < TD; k += blockDim.x) {
    zH[i * TD + k] = H_init[k % hidden];
    zL[i * TD + k] = L_init[k % hidden];
  }
  for (i64 k = threadIdx.x; k < seq_len; k += blockDim.x) {
    inputs[i * seq_len + k] = in_inputs[i * seq_len + k];
    labels[i * seq_len + k] = in_labels[i * seq_len + k];
  }
  if (threadIdx.x == 0) {
    steps[i] = 0;
    puzzle_ids[i] = in_puzzle_ids[i];
  }
}

template <class T>
__global__ void act_halt_kernel(i32* steps, u8* halted, const T* q, const i32* min_halt_steps, i64 batch,
                                i64 halt_max_steps, bool explore) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < batch) ops::act_halt_slot(steps, halted, q, min_halt_steps, i, halt_max_steps, explore);
}

template <class T>
__global__ void act_q_grad_kernel(float* target, T* dq, const T* q, const T* q_next, const ops::SeqLoss* seq,
                                  const i32* steps, i64 batch, i64 halt_max_steps, bool q_continue, double loss_scale) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < batch) ops::act_q_grad_slot(target, dq, q, q_next, seq, steps, i, halt_max_steps, q_continue, loss_scale);
}

template <class T>
__global__ void act_metrics_kernel(ops::ActStepStats* stats, const ops::SeqLoss* seq, const T* q, const float* target,
                                   const u8* halted, const i32* steps, i64 batch, bool q_continue) {
  *stats = ops::act_metrics_sum(seq, q, target, halted, steps, batch, q_continue);
}

}  // namespace

template <class T>
void CudaOps::act_reset(T* zH, T* zL, i32* steps, i32* inputs, i32* labels, i32* puzzle_ids, const T* H_init,
                        const T* L_init, const u8* halted, const i32* in_inputs, const i32* in_labels,
                        const i32* in_puzzle_ids, i64 batch, i64 tokens, i64 hidden, i64 seq_len) {
  if (batch == 0) return;
  HRM_CHECK(batch <= INT_MAX, "act_reset: {} slots exceed the grid limit", batch);
  act_reset_kernel<<<static_cast<unsigned>(batch), cuda::kThreads, 0, cuda::stream()>>>(
      zH, zL, steps, inputs, labels, puzzle_ids, H_init, L_init, halted, in_inputs, in_labels, in_puzzle_ids, tokens,
      hidden, seq_len);
  HRM_CUDA_CHECK_LAUNCH(act_reset_kernel);
}

template <class T>
void CudaOps::act_halt(i32* steps, u8* halted, const T* q, const i32* min_halt_steps, i64 batch, i64 halt_max_steps,
                       bool explore) {
  if (batch == 0) return;
  act_halt_kernel<<<cuda::grid_for(batch), cuda::kThreads, 0, cuda::stream()>>>(steps, halted, q, min_halt_steps,
                                                                              batch, halt_max_steps, explore);
  HRM_CUDA_CHECK_LAUNCH(act_halt_kernel);
}

template <class T>
void CudaOps::act_q_grad(ops::acc_t<T>* target, T* dq, const T* q, const T* q_next, const ops::SeqLoss* seq,
                         const i32* steps, i64 batch, i64 halt_max_steps, bool q_continue, double loss_scale) {
  if (batch == 0) return;
  act_q_grad_kernel<<<cuda::grid_for(batch), cuda::kThreads, 0, cuda::stream()>>>(
      target, dq, q, q_next, seq, steps, batch, halt_max_steps, q_continue, loss_scale);
  HRM_CUDA_CHECK_LAUNCH(act_q_grad_kernel);
}

template <class T>
void CudaOps::act_metrics(ops::ActStepStats* stats, const ops::SeqLoss* seq, const T* q, const ops::acc_t<T>* target,
                          const u8* halted, const i32* steps, i64 batch, bool q_continue) {
  act_metrics_kernel<<<1, 1, 0, cuda::stream()>>>(stats, seq, q, target, halted, steps, batch, q_continue);
  HRM_CUDA_CHECK_LAUNCH(act_metrics_kernel);
}

#define HRM_ACT(T)                                                                                                \
  template void CudaOps::act_reset<T>(T*, T*, std::int32_t*, std::int32_t*, std::int32_t*, std::int32_t*, const T*, \
                                      const T*, const std::uint8_t*, const std::int32_t*, const std::int32_t*,        \
                                      const std::int32_t*, std::int64_t, std::int64_t, std::int64_t, std::int64_t);   \
  template void CudaOps::act_halt<T>(std::int32_t*, std::uint8_t*, const T*, const std::int32_t*, std::int64_t,      \
                                     std::int64_t, bool);                                                            \
  template void CudaOps::act_q_grad<T>(float*, T*, const T*, const T*, const ops::SeqLoss*, const std::int32_t*,     \
                                       std::int64_t, std::int64_t, bool, double);                                    \
  template void CudaOps::act_metrics<T>(ops::ActStepStats*, const ops::SeqLoss*, const T*, const float*,             \
                                        const std::uint8_t*, const std::int32_t*, std::int64_t, bool);
HRM_ACT(float)
HRM_ACT(cuda::bf16)
#undef HRM_ACT

}  // namespace hrm
