// summary_rows.hpp: the key numbers of a Report as (section, quantity, value) rows, shared by the
// terminal and Markdown renderers so both always show the same numbers.
#pragma once

#include <string>
#include <vector>

#include "analyzer/report.hpp"

namespace hrm {

struct SummaryRow {
  std::string section, quantity, value;
};

std::vector<SummaryRow> summary_rows(const Report& r);
std::vector<SummaryRow> recommendation_rows(const Report& r);
std::string verdict_line(const Report& r);   // "vetted (0 errors, 2 warnings, 4 notes)"

}  // namespace hrm
