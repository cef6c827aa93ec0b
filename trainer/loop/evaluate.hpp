// evaluate.hpp: HRM's evaluation (HRM-SPEC 7.1, 2.4): the test split in storage order, windows of
// the global batch, a fresh carry per batch, exactly halt_max_steps segments, the final segment's
// metrics summed over batches and divided by the count of real rows. evaluate() runs it on the CPU
// backend; evaluate_with() is the same loop over another backend's segments (trainer/cuda: the
// CUDA step evaluates on the device).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "datasets/dataset.hpp"
#include "trainer/model/act.hpp"
#include "trainer/model/params.hpp"

namespace hrm {

struct EvalResult {
  std::map<std::string, double> metrics;  // HRM's names: accuracy, exact_accuracy, lm_loss, q_halt_accuracy,
                                          // q_halt_loss, steps; plus count (real rows)
  // The raw sums behind `metrics` (count, accuracy, exact, q_halt_acc, steps, lm_loss, q_halt_loss):
  // ranks evaluating slices of the test windows (HRM-SPEC 5.2) add these, then call set_eval_metrics.
  std::array<double, 7> sums{};
};

// metrics from sums (each divided by max(count, 1), as HRM does).
void set_eval_metrics(EvalResult& r);

// What the final segment predicted for every real (non-padding) row, in storage order.
struct EvalPredictions {
  std::int64_t seq_len = 0;
  std::vector<std::int32_t> inputs, labels, predictions;  // (N, S); labels -100 where ignored
  std::vector<std::int32_t> puzzle_ids;                   // (N)
  std::vector<float> q_halt;                              // (N) final q_halt logits
};

struct EvalOptions {
  std::int64_t global_batch = 0;
  std::int64_t world_size = 1, rank = 0;
  EvalPredictions* keep = nullptr;                         // filled when not null
  using Progress = std::function<void(std::int64_t done, std::int64_t total)>;
  Progress progress;  // called after each batch
};

EvalResult evaluate(const HrmWeights<float>& w, const DatasetSplit& test, const EvalOptions& opt);

// One test batch on some backend: halt_max_steps evaluation segments from HRM's initial carry on
// `batch` (b rows); returns the last segment's stats. With `keep`, appends the predictions and final
// q_halt logits of the first `real` rows (the loop appends inputs, labels and puzzle ids).
using EvalBatch = std::function<ActStepStats(const ActBatch& batch, std::int64_t real, EvalPredictions* keep)>;
EvalResult evaluate_with(const HrmDims& d, const DatasetSplit& test, const EvalOptions& opt, const EvalBatch& run);

}  // namespace hrm
