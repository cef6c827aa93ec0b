// recommend.cpp: batch size, GPU count, warmup and LR by dataset size class and task horizon (the
// report's recommendations), constrained by memory, GPU count and what one sampler iteration can
// fill, next to the published recipe for the same kind of data.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "analyzer/rules.hpp"
#include "common/schedule.hpp"

namespace hrm {

Recommendation recommend(const RuleContext& c) {
  Recommendation r;
  const double E = c.census.examples_per_epoch, G = static_cast<double>(c.census.groups);
  const double hw = static_cast<double>(std::max<std::int64_t>(1, c.hardware_batch_limit));
  r.size_class = size_class(E);
  double B = r.size_class == "small" ? std::min(1.5 * G, hw) : r.size_class == "medium" ? std::min(96.0, 0.8 * G) : std::min(128.0, hw);
  const double cap = c.horizon == "long" ? std::min(64.0, 0.5 * G) : std::min(2.0 * G, hw);
  B = std::min(B, cap);
  // An iteration must be able to fill a batch, or it yields nothing (rule no-batches).
  B = std::min(B, std::floor(static_cast<double>(c.config.epochs_per_iter()) * E));
  auto Bi = std::max<std::int64_t>(1, static_cast<std::int64_t>(B));

  // Most GPUs (up to the configured count) that keep a per-GPU batch of at least 16.
  std::int64_t W = std::max<std::int64_t>(1, std::min(c.config.hardware.num_gpus, Bi / 16));
  Bi = std::max(W, Bi / W * W);
  r.global_batch_size = Bi;
  r.num_gpus = W;
  r.per_gpu_batch = Bi / W;

  const auto halt = std::max<std::int64_t>(1, c.config.arch.halt_max_steps);
  const double fresh_per_step = static_cast<double>(Bi) / static_cast<double>(halt);
  const auto total = hrm_total_steps(c.config.train.epochs, c.census.groups, c.census.mean_puzzle_examples, Bi);
  auto warm = std::max<std::int64_t>(min_warmup_updates(E), static_cast<std::int64_t>(std::ceil(2.0 * E / fresh_per_step)));
  warm = std::min(warm, std::max<std::int64_t>(1, total / 10));
  r.lr_warmup_steps = warm;
  r.lr = sqrt_rule_lr(Bi);
  r.rationale = fmt::format(
      "{} dataset ({:.0f} examples/epoch, {} groups), {}-horizon task: batch {} ({} per GPU on {} GPU{}); warmup covers 2 "
      "epochs of fresh examples under ACT (B / halt_max_steps = {:.1f} per step), at least {} updates, at most 10% of the "
      "run; lr by the square-root rule",
      r.size_class, E, c.census.groups, c.horizon, Bi, r.per_gpu_batch, W, W == 1 ? "" : "s", fresh_per_step,
      min_warmup_updates(E));

  const auto V = c.census.vocab_size, S = c.census.seq_len;
  if (V == 11 && S == 81) { r.recipe_name = "Sudoku-Extreme 1k (HRM README, 8 GPUs)"; r.recipe_batch = 768; r.recipe_lr = 1e-4; r.recipe_warmup = 2000; }
  else if (V == 6) { r.recipe_name = "Maze 30x30 Hard 1k (HRM README, 8 GPUs)"; r.recipe_batch = 768; r.recipe_lr = 1e-4; r.recipe_warmup = 2000; }
  else if (V == 12 && S == 900) { r.recipe_name = "ARC-AGI (HRM README, 8 GPUs)"; r.recipe_batch = 768; r.recipe_lr = 1e-4; r.recipe_warmup = 2000; }
  return r;
}

}  // namespace hrm
