// rules_noise_scale.cpp: the configured and the rule-of-thumb batch against a measured critical batch
// (hrm probe). Far below B_crit a run spends several times the minimum number of steps; far above it,
// several times the minimum number of examples (McCandlish et al. 2018, eq. 2.11). The report's batch
// rules are rules of thumb; this is the measurement they stand in for.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "analyzer/rules.hpp"

namespace hrm {

namespace {

constexpr double kFar = 4.0;  // a factor 4 off B_crit: 5x the minimum steps or examples

std::string interval(const NoiseProbe& p) {
  return std::isfinite(p.b_crit_high) ? fmt::format("{:.3g}-{:.3g}", p.b_crit_low, p.b_crit_high)
                                      : fmt::format("{:.3g}-unresolved", p.b_crit_low);
}

}  // namespace

void check_noise_scale_rules(const Report& r, const NoiseProbe& p, std::vector<Finding>& out) {
  const std::string at = p.points.empty() ? "init" : p.points.back().at;
  if (!(p.b_crit > 0) || !std::isfinite(p.b_crit)) {
    out.push_back(make_finding(
        "noise-scale-unresolved", Severity::Info, "train.global_batch_size", p.b_crit, static_cast<double>(p.b_big),
        fmt::format("the probe's |G|^2 estimate at {} is not positive: gradient noise dominates at B_big = {}, so B_crit "
                    "is above what {} repeats at B_small = {} / B_big = {} resolve",
                    at, p.b_big, p.repeats, p.b_small, p.b_big),
        "the two-batch estimator needs the big batch's gradient to be mostly signal; when it is not, the noise scale "
        "is large but unmeasured",
        "rerun hrm probe with a larger --big-batch or more --steps"));
    return;
  }
  const double B = static_cast<double>(r.config.train.global_batch_size), ratio = B / p.b_crit;
  const BatchTradeoff t = batch_tradeoff(p.b_crit, r.config.train.global_batch_size);
  const std::string measured =
      fmt::format("batch {} is {:.2f}x the measured B_crit {:.3g} ({:.0f}% interval {}, at {}): {:.2f}x the minimum steps, "
                  "{:.2f}x the minimum examples",
                  r.config.train.global_batch_size, ratio, p.b_crit, 100 * p.points.back().modules.front().estimate.confidence,
                  interval(p), at, t.steps_over_min, t.examples_over_min);
  const std::string why =
      "McCandlish et al. (2018): S = S_min (1 + B_crit / B), E = E_min (1 + B / B_crit); near B_crit a run trades steps "
      "for examples evenly, far from it one of the two is mostly wasted";
  // At initialisation every example pulls the same way (towards the label marginals), so B_simple is at
  // its smallest there and grows as training proceeds: a note, not a warning, until a checkpoint says so.
  const bool at_init = p.points.empty() || p.points.back().step == 0;
  const Severity far = at_init ? Severity::Info : Severity::Warning;
  const auto fix_to =
      fmt::format("{}consider train.global_batch_size near {:.0f} (and the LR and warmup that go with it)",
                  at_init ? "measured at initialisation, where the noise scale is smallest: probe a checkpoint of this run "
                            "(hrm probe --checkpoint) before acting; then "
                          : "",
                  std::max(1.0, std::round(p.b_crit)));
  if (ratio > kFar)
    out.push_back(make_finding("noise-scale-batch-above-critical", far, "train.global_batch_size", ratio, kFar,
                               measured + "; most examples only average noise away", why, fix_to));
  else if (ratio < 1.0 / kFar)
    out.push_back(make_finding("noise-scale-batch-below-critical", far, "train.global_batch_size", ratio,
                               1.0 / kFar, measured + "; each step is noise-dominated", why, fix_to));
  else
    out.push_back(make_finding("noise-scale-batch-near-critical", Severity::Info, "train.global_batch_size", ratio, kFar,
                               measured, why, "none needed"));
  const auto rec = r.recommendation.global_batch_size;
  if (rec > 0) {
    const BatchTradeoff tr = batch_tradeoff(p.b_crit, rec);
    out.push_back(make_finding(
        "noise-scale-recommendation", Severity::Info, "train.global_batch_size", static_cast<double>(rec) / p.b_crit, kFar,
        fmt::format("the rule-of-thumb recommendation (batch {}) is {:.2f}x the measured B_crit {:.3g}: {:.2f}x the minimum "
                    "steps, {:.2f}x the minimum examples",
                    rec, static_cast<double>(rec) / p.b_crit, p.b_crit, tr.steps_over_min, tr.examples_over_min),
        "the recommendation comes from dataset size and task horizon (hrm-config-report.md); the probe measures the "
        "gradient of this model on this data",
        "none needed"));
  }
}

void add_noise_probe(Report& r, NoiseProbe probe) {
  std::erase_if(r.findings, [](const Finding& f) { return f.id.rfind("noise-scale-", 0) == 0; });
  finish_noise_probe(probe, {r.config.train.global_batch_size, r.recommendation.global_batch_size, probe.b_small, probe.b_big});
  check_noise_scale_rules(r, probe, r.findings);
  r.probe = std::move(probe);
  settle_verdict(r);
}

}  // namespace hrm
