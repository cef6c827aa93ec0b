// evaluate.cpp: HRM's test-set evaluation loop, and the CPU backend's segments for it.
#include "trainer/loop/evaluate.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "datasets/sampler.hpp"
#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/loop/batches.hpp"
#include "trainer/model/act.hpp"

namespace hrm {

EvalResult evaluate_with(const HrmDims& d, const DatasetSplit& test, const EvalOptions& opt, const EvalBatch& run) {
  const std::int64_t B = opt.global_batch, b = B / opt.world_size, S = d.seq_len;
  HRM_CHECK(B > 0 && B % opt.world_size == 0, "global batch {} not divisible by world size {}", B, opt.world_size);
  ActBatch batch;
  double sums[7] = {0, 0, 0, 0, 0, 0, 0};  // count, accuracy, exact, q_halt_acc, steps, lm_loss, q_halt_loss
  const std::int64_t n_batches = test_batch_count(test.num_examples(), B);
  for (std::int64_t k = 0; k < n_batches; ++k) {
    const TestBatch tb = test_batch(test.num_examples(), B, opt.world_size, opt.rank, k);
    load_test_batch(batch, test, tb, b);
    const std::int64_t real = tb.local_end - tb.local_begin;
    const ActStepStats s = run(batch, real, opt.keep);
    const double v[7] = {s.count, s.accuracy, s.exact_accuracy, s.q_halt_accuracy, s.steps, s.lm_loss, s.q_halt_loss};
    for (int i = 0; i < 7; ++i) sums[i] += v[i];
    if (opt.keep) {
      EvalPredictions& p = *opt.keep;
      p.seq_len = S;
      p.inputs.insert(p.inputs.end(), batch.inputs.begin(), batch.inputs.begin() + real * S);
      p.labels.insert(p.labels.end(), batch.labels.begin(), batch.labels.begin() + real * S);
      p.puzzle_ids.insert(p.puzzle_ids.end(), batch.puzzle_ids.begin(), batch.puzzle_ids.begin() + real);
    }
    if (opt.progress) opt.progress(k + 1, n_batches);
  }
  EvalResult r;
  std::copy(std::begin(sums), std::end(sums), r.sums.begin());
  set_eval_metrics(r);
  return r;
}

EvalResult evaluate(const HrmWeights<float>& w, const DatasetSplit& test, const EvalOptions& opt) {
  const HrmDims& d = w.dims;
  const std::int64_t b = opt.global_batch / std::max<std::int64_t>(opt.world_size, 1), S = d.seq_len;
  HrmAct<CpuOps, float> act(d, b);
  return evaluate_with(d, test, opt, [&](const ActBatch& batch, std::int64_t real, EvalPredictions* keep) {
    ActCarry<float> carry = ActCarry<float>::initial(d, b);
    ActStepStats s;
    for (std::int64_t seg = 0; seg < d.halt_max_steps; ++seg) s = act.eval_step(w, carry, batch);
    if (keep) {
      keep->predictions.insert(keep->predictions.end(), act.predictions().begin(), act.predictions().begin() + real * S);
      for (std::int64_t i = 0; i < real; ++i) keep->q_halt.push_back(act.q()[i * 2]);
    }
    return s;
  });
}

void set_eval_metrics(EvalResult& r) {
  const auto& sums = r.sums;
  const double count = std::max(sums[0], 1.0);
  r.metrics["count"] = sums[0];
  r.metrics["accuracy"] = sums[1] / count;
  r.metrics["exact_accuracy"] = sums[2] / count;
  r.metrics["q_halt_accuracy"] = sums[3] / count;
  r.metrics["steps"] = sums[4] / count;
  r.metrics["lm_loss"] = sums[5] / count;
  r.metrics["q_halt_loss"] = sums[6] / count;
}

}  // namespace hrm
