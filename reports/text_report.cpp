// text_report.cpp: the terminal table. Data lines are "section  quantity  value"; everything else
// starts with '#'. Colour (ANSI) only when the caller says the output is a TTY without NO_COLOR.
#include <algorithm>

#include <fmt/format.h>

#include "reports/probe_rows.hpp"
#include "reports/render.hpp"
#include "reports/scaling_rows.hpp"
#include "reports/summary_rows.hpp"

namespace hrm {

std::string render_text(const Report& r, bool color) {
  auto paint = [&](const std::string& s, const char* code) { return color ? fmt::format("\x1b[{}m{}\x1b[0m", code, s) : s; };
  std::string out = fmt::format("# hrm analyze {}  (dataset {}, model {})\n", r.config.source_file, r.config.data.path,
                                r.model_family == "trm" ? "TRM" : "HRM");
  auto rows = summary_rows(r);
  const auto recs = recommendation_rows(r);
  rows.insert(rows.end(), recs.begin(), recs.end());
  for (const auto& more : {communication_rows(r), scaling_rows(r)}) rows.insert(rows.end(), more.begin(), more.end());
  if (r.probe)
    for (const auto& more : {noise_probe_rows(*r.probe), tradeoff_rows(*r.probe)}) rows.insert(rows.end(), more.begin(), more.end());
  std::size_t wq = 8;
  for (const auto& row : rows) wq = std::max(wq, row.quantity.size());
  out += fmt::format("{:<12} {:<{}} {}\n", "section", "quantity", wq, "value");
  for (const auto& row : rows) out += fmt::format("{:<12} {:<{}} {}\n", row.section, row.quantity, wq, row.value);
  out += "#\n# findings\n";
  for (const auto& f : r.findings) {
    const char* code = f.severity == Severity::Error ? "1;31" : f.severity == Severity::Warning ? "33" : "36";
    std::string sev = severity_name(f.severity);
    std::transform(sev.begin(), sev.end(), sev.begin(), ::toupper);
    const SourcePos pos = r.config.position_of(f.key);
    out += fmt::format("# {} [{}] {}\n", paint(sev, code), f.id, f.message);
    if (f.severity != Severity::Info || f.fix != "none needed") {
      out += fmt::format("#     at {} ({})\n", pos.str(), f.key);
      out += fmt::format("#     why: {}\n", f.why);
      out += fmt::format("#     fix: {}\n", f.fix);
    }
  }
  const char* vcode = r.verdict == "vetted" ? "1;32" : "1;31";
  out += fmt::format("verdict: {} {}\n", paint(verdict_line(r), vcode), r.config.source_file);
  return out;
}

}  // namespace hrm
