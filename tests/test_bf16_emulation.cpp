// test_bf16_emulation.cpp: the CPU emulation of the CUDA backend's bf16 storage (cpu_bf16_ops.hpp)
// against the fp32 CPU step, on the small model of test_cuda_train_step. It measures, without a GPU,
// how far HRM's bf16 precision moves one training step, which is what the bf16-storage tolerances of
// test_cuda_train_step (GPU bf16 step against the CPU fp32 step) must allow for: the emulation must
// stay inside them (else they are too tight for a correct GPU step) and differ from fp32 (else the
// emulation, or the rounding, does nothing). The measured differences are printed.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu_bf16_ops.hpp"
#include "step_fixture.hpp"
#include "test_util.hpp"
#include "trainer/loop/evaluate.hpp"

using namespace hrm_test::step;

namespace {

// max |got - ref| / max(max |ref|, 1): compare()'s measure.
double relative_error(const std::vector<float>& got, const std::vector<float>& ref) {
  double scale = 1, worst = 0;
  for (float r : ref) scale = std::max(scale, std::abs(static_cast<double>(r)));
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(got[i]) - ref[i]));
  return worst / scale;
}

double value_error(double got, double ref) { return std::abs(got - ref) / std::max(std::abs(ref), 1.0); }

}  // namespace

// Heads of 32 and of 64 (test_cuda_train_step's two bf16 models; at 64 the GPU's attention is the fused
// one, which rounds at the equivalent points: P before P^T dO, dS before dQ and dK).
TEST_CASE("bf16 emulation: one training step stays within the bf16-storage tolerances of the fp32 step") {
  for (const i64 hidden : {64, 128}) {
    const HrmDims d = small_dims(11, 16, 5, hidden);
    INFO("hidden " << hidden << ", head size " << d.head_dim);
    const i64 b = 4;
    const CpuStep fp32 = cpu_step<CpuOps>(d, b), bf16 = cpu_step<hrm_test::CpuBf16Ops>(d, b);
    const double loss = value_error(bf16.stats.total, fp32.stats.total);
    const double lm = value_error(bf16.stats.lm_loss, fp32.stats.lm_loss);
    const double grad_sq = value_error(bf16.grad_sq, fp32.grad_sq);
    const double zH = relative_error(bf16.after.carry.zH, fp32.after.carry.zH);
    const double params = relative_error(bf16.after.weights.params, fp32.after.weights.params);
    MESSAGE("bf16 emulation against fp32, one step, head size ", d.head_dim, ": loss ", loss, ", lm_loss ", lm,
            ", gradient sum of squares ", grad_sq, ", carry z_H ", zH, ", master parameters ", params, " (lr ", kLr,
            ")");
    // test_cuda_train_step's bf16-storage bounds against the fp32 step (measured here, heads of 32:
    // 8.6e-4, 5.2e-4, 3.8e-3, 1.6e-2, 0.4 lr; of 64: 1.7e-3, 6.9e-4, 4.5e-3, 2.1e-2, 0.4 lr).
    CHECK(loss <= kTolBf16StepLoss);
    CHECK(lm <= kTolBf16StepLoss);
    CHECK(grad_sq <= kTolBf16StepGradSq);
    CHECK(zH <= kTolBf16StepCarry);
    CHECK(params <= 2 * kLr + 1e-6);
    // The rounding takes effect.
    CHECK(bf16.grad_sq != fp32.grad_sq);
    CHECK(zH > 0);
  }
}

TEST_CASE("bf16 emulation: the values it keeps are bf16 values (the carry), the fp32 ones are not rounded (master)") {
  const HrmDims d = small_dims();
  const CpuStep bf16 = cpu_step<hrm_test::CpuBf16Ops>(d, 4);
  for (float x : bf16.after.carry.zH) REQUIRE(x == round_to_bf16(x));
  const auto rounded = std::count_if(bf16.after.weights.params.begin(), bf16.after.weights.params.end(),
                                     [](float x) { return x == round_to_bf16(x); });
  CHECK(static_cast<std::size_t>(rounded) < bf16.after.weights.params.size() / 2);  // the master stays fp32
}

// HRM's evaluation (4 segments per batch from a fresh carry) on 64 real Sudoku test puzzles in the
// bf16 emulation against fp32: what test_cuda_train_step's bf16 evaluation bounds (the losses within
// 1e-2, the token accuracy within 0.01) must allow for (measured: lm_loss 2e-5, q_halt_loss 1.3e-3,
// accuracy 6e-4).
TEST_CASE("bf16 emulation: evaluation stays within the bf16-storage evaluation tolerances of fp32") {
  const DatasetSplit test = DatasetSplit::open(hrm_test::sudoku_1k_dataset(), "test");
  const HrmDims d = small_dims(test.meta().vocab_size, test.meta().seq_len, test.meta().num_puzzle_identifiers);
  const i64 b = 6;
  const TrainerState s = initial_state(d, b);
  EvalOptions o;
  o.global_batch = b;
  const EvalResult fp32 = evaluate(s.weights, test, o);
  HrmWeights<float> model = s.weights;
  for (float& x : model.params) x = round_to_bf16(x);
  HrmAct<hrm_test::CpuBf16Ops, float> act(d, b);
  const EvalResult bf16 = evaluate_with(d, test, o, [&](const ActBatch& batch, std::int64_t, EvalPredictions*) {
    ActCarry<float> carry = ActCarry<float>::initial(d, b);
    ActStepStats st;
    for (std::int64_t seg = 0; seg < d.halt_max_steps; ++seg) st = act.eval_step(model, carry, batch);
    return st;
  });
  const double lm = value_error(bf16.metrics.at("lm_loss"), fp32.metrics.at("lm_loss"));
  const double q = value_error(bf16.metrics.at("q_halt_loss"), fp32.metrics.at("q_halt_loss"));
  const double acc = std::abs(bf16.metrics.at("accuracy") - fp32.metrics.at("accuracy"));
  MESSAGE("bf16 emulation against fp32, evaluation: lm_loss ", lm, ", q_halt_loss ", q, ", accuracy ", acc);
  CHECK(bf16.metrics.at("count") == fp32.metrics.at("count"));
  CHECK(bf16.metrics.at("steps") == fp32.metrics.at("steps"));
  CHECK(lm <= 1e-2);
  CHECK(q <= 1e-2);
  CHECK(acc <= 0.01);
  CHECK(bf16.metrics.at("lm_loss") != fp32.metrics.at("lm_loss"));
}
