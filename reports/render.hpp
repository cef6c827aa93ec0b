// render.hpp: renderers of an analyzer Report. Every field is defined in reports/README.md.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "analyzer/report.hpp"

namespace hrm {

nlohmann::json report_to_json(const Report& r);           // versioned (format_version)
std::string render_text(const Report& r, bool color);     // terminal table; non-data lines start with '#'
std::string render_markdown(const Report& r);             // for pull-request comments

std::string format_bytes(double bytes);                    // "1.23 GiB"
std::string format_count(double v);                        // "1,536,000" for integers, else 3 significant digits

}  // namespace hrm
