// markdown_report.cpp: the Report as GitHub-flavoured Markdown (pull-request comments).
#include <cmath>

#include <fmt/format.h>

#include "reports/render.hpp"
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
  return out;
}

}  // namespace hrm
