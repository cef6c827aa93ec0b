// rules_regime.cpp: traditional vs survey sampling, what one update really sees, and whether the
// batch fits the task's horizon (the report's regime rules, with counted groups).
#include <algorithm>

#include <fmt/format.h>

#include "analyzer/rules.hpp"

namespace hrm {

void check_regime_rules(const RuleContext& c, std::vector<Finding>& out) {
  const auto& r = c.regime;
  const auto B = c.config.train.global_batch_size;
  const auto G = c.census.groups;
  const std::string seen = fmt::format(
      "each update draws {:.1f} groups ({:.1f}% of {}) because a group contributes all {:.2f} examples of one puzzle",
      r.groups_per_batch, 100.0 * r.group_fraction_per_update, G, c.census.mean_puzzle_examples);
  if (r.name == "survey") {
    out.push_back(make_finding(
        "survey-regime", Severity::Info, "train.global_batch_size", r.batch_to_groups, 1.0,
        fmt::format("survey regime: global batch {} > {} groups (ratio {:.2f}); {}", B, G, r.batch_to_groups, seen),
        "With B > groups a batch covers most puzzle types per update: low-variance gradients, fewer and more expensive steps, less exploration.",
        "fine for short-horizon pattern tasks (ARC); for search tasks prefer the traditional regime"));
  } else {
    out.push_back(make_finding(
        "traditional-regime", Severity::Info, "train.global_batch_size", r.batch_to_groups, 1.0,
        fmt::format("traditional regime: global batch {} <= {} groups (ratio {:.2f}); {}", B, G, r.batch_to_groups, seen),
        "Each update sees a random subset of puzzle types: noisier gradients, more updates, more exploration.",
        "none needed"));
  }

  const double Gd = static_cast<double>(G);
  const bool long_h = c.horizon == "long";
  const double limit = long_h ? std::min(64.0, 0.5 * Gd)
                              : std::min(2.0 * Gd, static_cast<double>(std::max<std::int64_t>(1, c.hardware_batch_limit)));
  if (static_cast<double>(B) > limit) {
    out.push_back(make_finding(
        "regime-horizon-mismatch", Severity::Warning, "train.global_batch_size", double(B), limit,
        long_h ? fmt::format("global batch {} is above min(64, 0.5 x {} groups) = {:.0f} for a long-horizon (search) task", B, G, limit)
               : fmt::format("global batch {} is above min(2 x {} groups, hardware limit {}) = {:.0f} for a short-horizon task", B, G,
                             c.hardware_batch_limit, limit),
        long_h ? "Search tasks (Sudoku, Maze) benefit from frequent updates; large batches converge to worse solutions per the report."
               : "Beyond twice the groups a batch only repeats puzzle types, or it does not fit the hardware.",
        fmt::format("set train.global_batch_size <= {:.0f} (see the recommendation)", limit)));
  }

  if (r.groups_per_batch > 0 && r.repeated_groups_per_batch > 0.05 * r.groups_per_batch) {
    out.push_back(make_finding(
        "groups-repeat-in-batch", Severity::Warning, "train.global_batch_size", r.repeated_groups_per_batch,
        0.05 * r.groups_per_batch,
        fmt::format("on average {:.1f} groups appear more than once in the same batch ({:.1f} group draws per batch, {} groups)",
                    r.repeated_groups_per_batch, r.groups_per_batch, G),
        "A batch wider than one permutation of the groups takes the same puzzle type twice in one update: duplicated gradient signal, no new information.",
        fmt::format("keep the batch below about {:.0f} rows (groups x examples per puzzle)", Gd * c.census.mean_puzzle_examples)));
  }
}

}  // namespace hrm
