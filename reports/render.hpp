// render.hpp: renderers of an analyzer Report. Every field is defined in reports/README.md.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzer/report.hpp"
#include "analyzer/sweep.hpp"

namespace hrm {

nlohmann::json report_to_json(const Report& r);           // versioned (format_version)
std::string render_text(const Report& r, bool color);     // terminal table; non-data lines start with '#'
std::string render_markdown(const Report& r);             // for pull-request comments
std::string render_html(const Report& r);                 // one self-contained page: inline CSS and SVG plots
nlohmann::json report_to_sarif(const Report& r);          // SARIF 2.1.0: findings at their config keys' positions

// What-if sweeps (analyzer/sweep.hpp): a row per combination, the recommended one marked.
nlohmann::json sweep_to_json(const SweepResult& s);       // versioned (format_version)
std::string render_sweep_text(const SweepResult& s, bool color);
std::string render_sweep_markdown(const SweepResult& s);
std::string render_sweep_html(const SweepResult& s);      // the table and a chart per measure

// `hrm probe`'s result (analyzer/noise_scale.hpp): probe.json and its table; from_json is strict
// (InputError naming `where` and the field).
nlohmann::json noise_probe_to_json(const NoiseProbe& p);  // versioned (format_version)
NoiseProbe noise_probe_from_json(const std::string& text, const std::string& where);
std::string render_noise_probe_text(const NoiseProbe& p);  // non-data lines start with '#', last line "B_crit: ..."

// The preflight report as files: preflight.{json,md,html,sarif}, (name, content) pairs.
std::vector<std::pair<std::string, std::string>> preflight_files(const Report& r);

std::string format_bytes(double bytes);                    // "1.23 GiB"
std::string format_count(double v);                        // "1,536,000" for integers, else 3 significant digits
nlohmann::json json_number(double v);                      // NaN and infinities as null (JSON has neither)

}  // namespace hrm
