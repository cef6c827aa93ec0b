// markdown_report.cpp: the Report as GitHub-flavoured Markdown (pull-request comments).
#include <cmath>

#include <fmt/format.h>

#include "reports/probe_rows.hpp"
#include "reports/render.hpp"
#include "reports/scaling_rows.hpp"
#include "reports/summary_rows.hpp"

namespace hrm {

namespace {
std::string cell(std::string s) {
  std::string out;
  for (char ch : s) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}
std::string num_or_dash(double v) { return std::isfinite(v) ? format_count(v) : "-"; }
}  // namespace

std::string render_markdown(const Report& r) {
  std::string out = fmt::format("## HRM pre-flight: **{}**\n\n", verdict_line(r));
  out += fmt::format("Config `{}`, dataset `{}`.\n\n", r.config.source_file, r.config.data.path);
  out += "### Findings\n\n| severity | rule | value | limit | message | fix |\n|---|---|---|---|---|---|\n";
  for (const auto& f : r.findings)
    out += fmt::format("| {} | `{}` | {} | {} | {} | {} |\n", severity_name(f.severity), f.id, num_or_dash(f.value),
                       num_or_dash(f.limit), cell(f.message), cell(f.fix));
  out += "\n### Summary\n\n| section | quantity | value |\n|---|---|---|\n";
  for (const auto& row : summary_rows(r)) out += fmt::format("| {} | {} | {} |\n", row.section, cell(row.quantity), cell(row.value));
  out += "\n### Recommendation\n\n| | | |\n|---|---|---|\n";
  for (const auto& row : recommendation_rows(r)) out += fmt::format("| {} | {} | {} |\n", row.section, cell(row.quantity), cell(row.value));
  out += fmt::format("\n{}\n", r.recommendation.rationale);
  out += "\n### Communication and scaling (predicted)\n\n| section | quantity | value |\n|---|---|---|\n";
  for (const auto& row : communication_rows(r)) out += fmt::format("| {} | {} | {} |\n", row.section, cell(row.quantity), cell(row.value));
  out += "\n| GPUs | per-GPU batch | compute | all-reduce | all-gather | step | efficiency | examples/s |\n"
         "|---|---|---|---|---|---|---|---|\n";
  for (const auto& p : r.comm.scaling)
    out += fmt::format("| {}{} | {} | {} | {} | {} | {} | {:.0f}% | {} |\n", p.num_gpus, p.divisible ? "" : " (B not divisible)",
                       p.per_gpu_batch, format_ms(p.compute_s), format_ms(p.allreduce_s), format_ms(p.allgather_s),
                       format_ms(p.step_s), 100.0 * p.efficiency, format_count(std::round(p.examples_per_s)));
  if (r.probe) {
    out += "\n### Gradient noise scale (measured by hrm probe)\n\n| section | quantity | value |\n|---|---|---|\n";
    for (const auto& rows : {noise_probe_rows(*r.probe), tradeoff_rows(*r.probe)})
      for (const auto& row : rows) out += fmt::format("| {} | {} | {} |\n", row.section, cell(row.quantity), cell(row.value));
  }
  return out;
}

}  // namespace hrm
