// probe_rows.cpp: the rows of a noise probe.
#include "reports/probe_rows.hpp"

#include <cmath>

#include <fmt/format.h>

namespace hrm {

std::string format_noise_scale(double b, double low, double high) {
  if (!std::isfinite(b)) return "unresolved (|G|^2 estimate not positive)";
  if (!std::isfinite(low)) return fmt::format("{:.3g}", b);
  return fmt::format("{:.3g} (interval {:.3g}-{})", b, low, std::isfinite(high) ? fmt::format("{:.3g}", high) : "unresolved");
}

std::vector<SummaryRow> noise_probe_rows(const NoiseProbe& p) {
  std::vector<SummaryRow> rows = {
      {"probe", "B_crit (= B_simple of the whole model, last point)", format_noise_scale(p.b_crit, p.b_crit_low, p.b_crit_high)},
      {"probe", "B_small / B_big / repeats", fmt::format("{} / {} / {}", p.b_small, p.b_big, p.repeats)},
      {"probe", "configured batch / B_crit",
       std::isfinite(p.b_crit) ? fmt::format("{} / {:.3g} = {:.2f}", p.configured_batch, p.b_crit, p.configured_batch / p.b_crit) : "-"},
      {"probe", "probe time (s)", fmt::format("{:.1f}", p.probe_seconds)},
  };
  for (const NoiseProbePoint& pt : p.points)
    for (const ModuleNoiseScale& m : pt.modules) {
      const NoiseScaleEstimate& e = m.estimate;
      rows.push_back({"probe", fmt::format("B_simple {} at {}", m.module, pt.at),
                      fmt::format("{}; |G|^2 {:.3g}, tr(Sigma) {:.3g}", format_noise_scale(e.b_simple, e.ci_low, e.ci_high),
                                  e.grad_sq, e.trace_sigma)});
    }
  return rows;
}

std::vector<SummaryRow> tradeoff_rows(const NoiseProbe& p) {
  std::vector<SummaryRow> rows;
  for (const BatchTradeoff& t : p.tradeoffs) {
    std::string mark;
    if (t.batch == p.configured_batch) mark = " (configured)";
    rows.push_back({"tradeoff", fmt::format("batch {}{}", t.batch, mark),
                    fmt::format("steps {:.2f}x S_min, examples {:.2f}x E_min", t.steps_over_min, t.examples_over_min)});
  }
  return rows;
}

}  // namespace hrm
