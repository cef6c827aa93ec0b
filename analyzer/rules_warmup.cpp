// rules_warmup.cpp: LR warmup, counted the way HRM counts it (optimizer steps), and shown in every
// unit because reading lr_warmup_steps as examples is the classic mistake.
#include <fmt/format.h>

#include "analyzer/rules.hpp"

namespace hrm {

void check_warmup_rules(const RuleContext& c, std::vector<Finding>& out) {
  const auto& s = c.schedule;
  const auto B = c.config.train.global_batch_size;
  const double epoch = c.census.examples_per_epoch;

  if (s.executed_steps > 0 && s.warmup_steps > s.executed_steps) {
    out.push_back(make_finding(
        "warmup-exceeds-run", Severity::Error, "train.lr_warmup_steps", double(s.warmup_steps), double(s.executed_steps),
        fmt::format("warmup is {} steps but only {} steps run: the LR peaks at {:.1f}% of train.lr", s.warmup_steps,
                    s.executed_steps, 100.0 * s.peak_lr_fraction),
        "Warmup must not exceed the run: the learning rate never reaches its base value, so the configured LR is never used.",
        fmt::format("set train.lr_warmup_steps to at most {} (about 10% of the run: {})", s.executed_steps,
                    std::max<std::int64_t>(1, s.executed_steps / 10))));
  }

  const auto min_updates = min_warmup_updates(epoch);
  if (s.warmup_steps < min_updates) {
    out.push_back(make_finding(
        "warmup-few-updates", Severity::Warning, "train.lr_warmup_steps", double(s.warmup_steps), double(min_updates),
        fmt::format("warmup is {} optimizer updates; a {} dataset ({:.0f} examples per epoch) needs at least {}",
                    s.warmup_steps, size_class(epoch), epoch, min_updates),
        "The hierarchical H/L recurrence is unstable under a sudden full LR; a handful of warmup updates is not enough "
        "to settle it (the report's minimum: 5 / 15 / 20 updates for <= 1K / 1K-10K / > 10K examples per epoch).",
        fmt::format("set train.lr_warmup_steps >= {}", min_updates)));
  }

  if (s.warmup_steps > 0 && s.warmup_fresh_examples < 2.0 * epoch) {
    out.push_back(make_finding(
        "warmup-exposure", Severity::Warning, "train.lr_warmup_steps", s.warmup_fresh_examples, 2.0 * epoch,
        fmt::format("warmup consumes about {:.0f} fresh examples (under ACT, ~{:.1f} per step), less than 2 x the {:.0f} "
                    "examples of an epoch", s.warmup_fresh_examples, s.fresh_examples_per_step, epoch),
        "The report's rule: warmup should cover the dataset twice so every puzzle type is seen before the full LR. "
        "Under ACT only halted rows take new data, so early steps consume about B / halt_max_steps fresh examples.",
        fmt::format("set train.lr_warmup_steps >= {:.0f}", std::ceil(2.0 * epoch / std::max(1e-9, s.fresh_examples_per_step)))));
  }

  out.push_back(make_finding(
      "warmup-units", Severity::Info, "train.lr_warmup_steps", double(s.warmup_steps), 0.0,
      fmt::format("lr_warmup_steps = {} optimizer steps = {:.0f} examples yielded = {:.2f} epochs ({:.1f}% of the {} "
                  "executed steps); read as examples it would be only {:.1f} updates",
                  s.warmup_steps, s.warmup_examples, s.warmup_epochs,
                  s.executed_steps ? 100.0 * double(s.warmup_steps) / double(s.executed_steps) : 0.0, s.executed_steps,
                  s.warmup_updates_if_examples),
      fmt::format("HRM counts warmup in optimizer steps (one step = one global batch of {}). Configs and reports that "
                  "treat the number as examples under-estimate warmup by a factor of {}.", B, B),
      "none needed; keep the unit in mind when porting a recipe to another batch size"));
}

}  // namespace hrm
