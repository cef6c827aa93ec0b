// rules.hpp: the analyzer's rules, one family per file. Each rule reads the measured context and
// appends Findings (id, severity, value, limit, why, fix). Thresholds come from the HRM training
// configuration report (../shared/docs/hrm-config-report.md), evaluated on counted numbers.
#pragma once

#include <string>
#include <vector>

#include "analyzer/report.hpp"

namespace hrm {

struct RuleContext {
  const Config& config;
  const Census& census;
  const ScheduleView& schedule;
  const RegimeView& regime;
  const ReplayResult& replay;
  const MemoryEstimate& memory;
  const MemoryEstimate& cuda_memory;   // hrmkit's CUDA trainer in cuda_storage (zeros for TRM)
  const std::string& cuda_storage;     // "bf16" | "fp32" ("" for TRM)
  std::int64_t per_gpu_batch;
  std::string horizon;                 // "short" | "long"
  std::int64_t hardware_batch_limit;   // largest global batch that fits memory
};

// Dataset size classes of the report, by examples drawn per epoch (one puzzle per group).
std::string size_class(double examples_per_epoch);         // "small" <= 1K < "medium" <= 10K < "large"
std::int64_t min_warmup_updates(double examples_per_epoch); // 5 / 15 / 20

Finding make_finding(std::string id, Severity sev, std::string key, double value, double limit,
                     std::string message, std::string why, std::string fix);

void check_batch_rules(const RuleContext& c, std::vector<Finding>& out);     // rules_batch.cpp
void check_schedule_rules(const RuleContext& c, std::vector<Finding>& out);  // rules_schedule.cpp
void check_warmup_rules(const RuleContext& c, std::vector<Finding>& out);    // rules_warmup.cpp
void check_regime_rules(const RuleContext& c, std::vector<Finding>& out);    // rules_regime.cpp
void check_memory_rules(const RuleContext& c, std::vector<Finding>& out);    // rules_memory.cpp
void check_lr_rules(const RuleContext& c, std::vector<Finding>& out);        // rules_lr.cpp

// The square-root LR rule anchored at the reference recipe (B = 768, lr = 1e-4).
double sqrt_rule_lr(std::int64_t global_batch_size);

Recommendation recommend(const RuleContext& c);                               // recommend.cpp

// Findings from a measured noise scale against the configured and recommended batch (rules_noise_scale.cpp).
void check_noise_scale_rules(const Report& r, const NoiseProbe& p, std::vector<Finding>& out);

// Orders findings by severity and sets the verdict from them (and r.strict).
void settle_verdict(Report& r);

}  // namespace hrm
