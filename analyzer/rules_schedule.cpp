// rules_schedule.cpp: what the sampler really yields over the schedule: eval cadence, empty
// iterations (the run trains on nothing), and steps lost to drop-last.
#include <fmt/format.h>

#include "analyzer/rules.hpp"

namespace hrm {

void check_schedule_rules(const RuleContext& c, std::vector<Finding>& out) {
  const auto& t = c.config.train;
  const auto& s = c.schedule;
  if (t.eval_interval > 0 && t.epochs % t.eval_interval != 0) {
    out.push_back(make_finding(
        "epochs-not-multiple", Severity::Error, "train.eval_interval", double(t.epochs % t.eval_interval), 0,
        fmt::format("epochs {} is not a multiple of eval_interval {} (remainder {})", t.epochs, t.eval_interval,
                    t.epochs % t.eval_interval),
        "HRM asserts epochs % eval_interval == 0: the training loop runs epochs / eval_interval iterations of eval_interval epochs each.",
        fmt::format("set train.epochs to {} or train.eval_interval to a divisor of {}",
                    (t.epochs / t.eval_interval + 1) * t.eval_interval, t.epochs)));
  }
  if (s.empty_iterations > 0) {
    const double per_iter = double(c.config.epochs_per_iter()) * c.census.examples_per_epoch;
    out.push_back(make_finding(
        "no-batches", Severity::Error, "train.global_batch_size", double(s.empty_iterations), 0,
        fmt::format("{} of {} sampler iterations yield no batch at all; {} optimizer steps run in total", s.empty_iterations,
                    s.iterations, s.executed_steps),
        fmt::format("An iteration packs about {:.0f} rows ({} epochs x {:.0f} examples per epoch); a global batch of {} cannot "
                    "be filled, HRM drops the partial batch, and training silently does nothing in that iteration.",
                    per_iter, c.config.epochs_per_iter(), c.census.examples_per_epoch, t.global_batch_size),
        fmt::format("lower train.global_batch_size below {:.0f} or raise train.eval_interval", per_iter)));
  }
  if (s.executed_steps > 0 && s.total_steps > s.executed_steps) {
    out.push_back(make_finding(
        "steps-lost-to-drop-last", Severity::Info, "train.eval_interval", double(s.total_steps - s.executed_steps), 0,
        fmt::format("the schedule plans {} steps but the sampler yields {} ({} fewer; {} rows dropped by drop-last, "
                    "{} puzzles truncated at batch ends)", s.total_steps, s.executed_steps, s.total_steps - s.executed_steps,
                    s.dropped_rows, s.truncated_puzzles),
        "total_steps is computed from mean examples; each iteration drops its final partial batch, so fewer steps run. "
        "The LR schedule's cosine end (lr_min_ratio < 1) is then never fully reached.",
        "nothing to do unless the difference is large; fewer, longer iterations (larger eval_interval) lose less"));
  }
}

}  // namespace hrm
