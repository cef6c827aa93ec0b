// rules_lr.cpp: the LR against the square-root scaling rule anchored at HRM's reference recipe.
#include <cmath>

#include <fmt/format.h>

#include "analyzer/rules.hpp"

namespace hrm {

double sqrt_rule_lr(std::int64_t global_batch_size) {
  constexpr double kRefLr = 1e-4, kRefBatch = 768.0;  // HRM-SPEC 6.2: B = 768, lr = 1e-4
  return kRefLr * std::sqrt(static_cast<double>(global_batch_size) / kRefBatch);
}

void check_lr_rules(const RuleContext& c, std::vector<Finding>& out) {
  const auto B = c.config.train.global_batch_size;
  const double lr = c.config.train.lr, rule = sqrt_rule_lr(B);
  const double ratio = rule > 0 ? lr / rule : 0.0;
  out.push_back(make_finding(
      "lr-scaling", Severity::Info, "train.lr", lr, rule,
      fmt::format("lr {:.3g} is {:.2f}x the square-root rule's {:.3g} for batch {} (reference: lr 1e-4 at batch 768)", lr, ratio,
                  rule, B),
      "AdamATan2's step is bounded by lr, and gradient noise falls with sqrt(batch): scaling lr with sqrt(B) keeps the "
      "update noise comparable to the tuned reference (HRM's 1-GPU recipe uses exactly this: B 384, lr 7e-5).",
      std::abs(std::log2(std::max(ratio, 1e-12))) > 1.0 ? fmt::format("consider train.lr = {:.2g}", rule) : "none needed"));
}

}  // namespace hrm
