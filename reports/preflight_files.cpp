// preflight_files.cpp: the preflight report's files, written by `hrm analyze --report` and into
// every training run directory by `hrm train`.
#include "reports/render.hpp"

namespace hrm {

std::vector<std::pair<std::string, std::string>> preflight_files(const Report& r) {
  return {{"preflight.json", report_to_json(r).dump(2) + "\n"},
          {"preflight.md", render_markdown(r)},
          {"preflight.html", render_html(r)},
          {"preflight.sarif", report_to_sarif(r).dump(2) + "\n"}};
}

}  // namespace hrm
