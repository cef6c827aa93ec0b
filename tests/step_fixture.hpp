// step_fixture.hpp: the small HRM, its state and batches, and the comparisons shared by the tests of
// whole training steps against a reference (test_cuda_train_step.cpp: the CUDA step against the CPU's;
// test_bf16_emulation.cpp: the CPU's bf16 emulation against its fp32 step). Tolerances are relative
// to max(max |reference|, 1) over each tensor.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/loop/trainer.hpp"

namespace hrm_test::step {

using namespace hrm;
using i64 = std::int64_t;

// Two heads of 32 (hidden 64); hidden 128 gives heads of 64, where the CUDA attention is the fused one.
inline HrmDims small_dims(std::int64_t vocab = 11, std::int64_t seq_len = 16, std::int64_t identifiers = 5,
                          std::int64_t hidden = 64) {
  ArchConfig a;
  a.hidden_size = hidden;
  a.num_heads = 2;
  a.H_layers = 2;
  a.L_layers = 2;
  a.H_cycles = 2;
  a.L_cycles = 2;
  a.expansion = 4;
  a.pos_encodings = "rope";
  a.halt_max_steps = 4;
  a.halt_exploration_prob = 0.5;
  a.loss_type = "stablemax_cross_entropy";
  return HrmDims::from(a, /*puzzle_emb_ndim*/ 64, vocab, seq_len, identifiers);
}

inline ActBatch random_batch(const HrmDims& d, i64 b, std::mt19937_64& g) {
  ActBatch x;
  x.resize(b, d.seq_len);
  for (auto& v : x.inputs) v = static_cast<std::int32_t>(g() % d.vocab);
  for (auto& v : x.labels) v = g() % 4 == 0 ? ops::kIgnoreLabel : static_cast<std::int32_t>(g() % d.vocab);
  for (auto& v : x.puzzle_ids) v = static_cast<std::int32_t>(g() % d.num_identifiers);
  return x;
}

// HRM's init, with the q head and puzzle rows random (zeros would hide their paths).
inline TrainerState initial_state(const HrmDims& d, i64 b) {
  TrainerState s;
  s.weights = HrmWeights<float>::init(d, 5);
  std::mt19937_64 g(6);
  std::normal_distribution<float> n(0.0f, 0.3f);
  for (i64 i = 0; i < 2 * d.hidden; ++i) s.weights.params[s.weights.layout.q_head_w + i] = n(g);
  for (auto& v : s.weights.puzzle_emb) v = n(g);
  s.adam_m.assign(s.weights.layout.total, 0.0f);
  s.adam_v.assign(s.weights.layout.total, 0.0f);
  s.carry = ActCarry<float>::initial(d, b);
  return s;
}

inline void compare(const std::string& what, const std::vector<float>& got, const std::vector<float>& ref, double tol) {
  REQUIRE(got.size() == ref.size());
  double scale = 1;
  for (float r : ref) scale = std::max(scale, std::abs(static_cast<double>(r)));
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!(std::abs(static_cast<double>(got[i]) - ref[i]) / scale <= tol) && bad++ == 0) first = i;
  if (bad > 0)
    FAIL_CHECK(what << ": " << bad << " of " << got.size() << " elements exceed " << tol << " (first at " << first
                    << ": got " << got[first] << ", reference " << ref[first] << ")");
}

inline void compare_value(const std::string& what, double got, double ref, double tol) {
  if (!(std::abs(got - ref) / std::max(std::abs(ref), 1.0) <= tol))
    FAIL_CHECK(what << ": got " << got << ", reference " << ref);
}

// One CPU training step (both optimizers, lr 1e-4 and 1e-2) from initial_state on a fixed batch, the
// reference of the reduced-precision tests: the state before and after, the stats and the gradient's
// sum of squares. Ops = CpuBf16Ops (cpu_bf16_ops.hpp): the bf16-storage step, as the CUDA step runs it:
// the model on the weights rounded to bf16 (H_init / L_init are bf16 values already), the gradients
// rounded to bf16 values, AdamATan2 on the fp32 master.
struct CpuStep {
  TrainerState before, after;
  ActBatch batch;
  std::vector<std::int32_t> min_halt;
  ActStepStats stats;
  double grad_sq = 0;
};
constexpr double kLr = 1e-4, kPuzzleLr = 1e-2;
// One bf16-storage step against the fp32 step (test_cuda_train_step's bounds; test_bf16_emulation
// checks that the CPU's bf16 emulation, and so bf16 itself, stays inside them): the loss, the
// gradient's sum of squares, the carry.
constexpr double kTolBf16StepLoss = 5e-3, kTolBf16StepGradSq = 3e-2, kTolBf16StepCarry = 8e-2;

template <class Ops = CpuOps>
CpuStep cpu_step(const HrmDims& d, i64 b) {
  CpuStep r;
  r.before = r.after = initial_state(d, b);
  constexpr bool bf16 = !std::is_same_v<Ops, CpuOps>;
  HrmAct<Ops, float> act(d, b);
  HrmWeights<float> model = r.after.weights;  // bf16: the model's working copy of the fp32 master
  if constexpr (bf16)
    for (float& x : model.params) x = round_to_bf16(x);
  std::vector<float> grads(r.after.weights.layout.total), puzzle_grads(b * d.puzzle_ndim);
  std::mt19937_64 g(9);
  r.batch = random_batch(d, b, g);
  r.min_halt.assign(b, 1);
  r.stats =
      act.train_step(model, r.after.carry, r.batch, r.min_halt.data(), 1.0 / b, grads.data(), puzzle_grads.data());
  if constexpr (bf16) {  // the gradients as bf16 values (HRM's), as the CUDA step rounds them
    for (float& x : grads) x = round_to_bf16(x);
    for (float& x : puzzle_grads) x = round_to_bf16(x);
  }
  for (float x : grads) r.grad_sq += static_cast<double>(x) * x;
  apply_optimizers(r.after.weights, r.after.adam_m, r.after.adam_v, grads, r.after.carry.data.puzzle_ids.data(),
                   puzzle_grads.data(), b, 1, kLr, kPuzzleLr, TrainConfig{});
  return r;
}

}  // namespace hrm_test::step
