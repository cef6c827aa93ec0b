// scaling_rows.hpp: the communication model of a Report (analyzer/comm_model.hpp) as summary rows
// (section "comm") and one row per GPU count (section "scaling"), shared by the terminal and
// Markdown renderers. Times in milliseconds; reports/README.md defines the numbers.
#pragma once

#include <string>
#include <vector>

#include "analyzer/report.hpp"
#include "reports/summary_rows.hpp"

namespace hrm {

std::vector<SummaryRow> communication_rows(const Report& r);
std::vector<SummaryRow> scaling_rows(const Report& r);
std::string format_ms(double seconds);  // "12.3 ms", 3 significant digits

}  // namespace hrm
