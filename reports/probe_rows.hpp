// probe_rows.hpp: a measured noise scale (analyzer/noise_scale.hpp) as summary rows: section "probe"
// (B_crit, the batches it was measured with, B_simple per module and point) and section "tradeoff"
// (steps and examples against their minimum, per candidate batch). Shared by `hrm probe`'s table and
// the preflight renderers; reports/README.md defines the numbers.
#pragma once

#include <string>
#include <vector>

#include "analyzer/noise_scale.hpp"
#include "reports/summary_rows.hpp"

namespace hrm {

std::vector<SummaryRow> noise_probe_rows(const NoiseProbe& p);
std::vector<SummaryRow> tradeoff_rows(const NoiseProbe& p);
std::string format_noise_scale(double b, double low, double high);  // "123 (90% 80-150)", "unresolved"

}  // namespace hrm
