// probe_report.cpp: `hrm probe`'s outputs: probe.json (format_version 1, read back by `hrm analyze
// --probe`) and the terminal table. A noise scale that is not resolved (+inf) is null in the JSON;
// an interval that was not computed (one repeat) is absent.
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "common/error.hpp"
#include "reports/probe_rows.hpp"
#include "reports/render.hpp"

namespace hrm {

namespace {

using nlohmann::json;

constexpr int kProbeFormatVersion = 1;
constexpr double kInf = std::numeric_limits<double>::infinity();

json estimate_json(const NoiseScaleEstimate& e) {
  json j = {{"b_simple", json_number(e.b_simple)}, {"grad_sq", e.grad_sq}, {"trace_sigma", e.trace_sigma},
            {"repeats", e.repeats},           {"confidence", e.confidence}};
  if (!std::isnan(e.ci_low)) j["ci_low"] = json_number(e.ci_low), j["ci_high"] = json_number(e.ci_high);
  return j;
}

// Strict reading: a missing field or one of the wrong type names the field and the file.
class Reader {
 public:
  explicit Reader(std::string where) : where_(std::move(where)) {}
  const json& at(const json& j, const char* key) const {
    if (!j.is_object() || !j.contains(key)) fail(fmt::format("has no field \"{}\"", key));
    return j[key];
  }
  double number(const json& j, const char* key) const {  // null: not resolved (+inf)
    const json& v = at(j, key);
    if (v.is_null()) return kInf;
    if (!v.is_number()) fail(fmt::format("field \"{}\" is {}, expected a number", key, v.type_name()));
    return v.get<double>();
  }
  double optional_number(const json& j, const char* key) const {
    return j.contains(key) ? number(j, key) : std::numeric_limits<double>::quiet_NaN();
  }
  std::int64_t integer(const json& j, const char* key) const {
    const json& v = at(j, key);
    if (!v.is_number_integer()) fail(fmt::format("field \"{}\" is {}, expected an integer", key, v.type_name()));
    return v.get<std::int64_t>();
  }
  std::string string(const json& j, const char* key) const {
    const json& v = at(j, key);
    if (!v.is_string()) fail(fmt::format("field \"{}\" is {}, expected a string", key, v.type_name()));
    return v.get<std::string>();
  }
  const json& array(const json& j, const char* key) const {
    const json& v = at(j, key);
    if (!v.is_array()) fail(fmt::format("field \"{}\" is {}, expected an array", key, v.type_name()));
    return v;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(where_, what, "give a probe.json written by `hrm probe --out FILE`");
  }

 private:
  std::string where_;
};

NoiseScaleEstimate read_estimate(const Reader& r, const json& j) {
  NoiseScaleEstimate e;
  e.b_simple = r.number(j, "b_simple");
  e.grad_sq = r.number(j, "grad_sq");
  e.trace_sigma = r.number(j, "trace_sigma");
  e.repeats = r.integer(j, "repeats");
  e.confidence = r.number(j, "confidence");
  e.ci_low = r.optional_number(j, "ci_low");
  e.ci_high = r.optional_number(j, "ci_high");
  return e;
}

}  // namespace

json noise_probe_to_json(const NoiseProbe& p) {
  json points = json::array();
  for (const NoiseProbePoint& pt : p.points) {
    json modules = json::array();
    for (const ModuleNoiseScale& m : pt.modules) {
      json e = estimate_json(m.estimate);
      e["module"] = m.module;
      modules.push_back(e);
    }
    points.push_back({{"at", pt.at}, {"step", pt.step}, {"seconds", pt.seconds}, {"modules", modules}});
  }
  json tradeoffs = json::array();
  for (const BatchTradeoff& t : p.tradeoffs)
    tradeoffs.push_back({{"batch", t.batch}, {"steps_over_min", t.steps_over_min}, {"examples_over_min", t.examples_over_min}});
  json j = {{"format_version", kProbeFormatVersion},
            {"config_file", p.config_file},
            {"dataset", p.dataset},
            {"configured_batch", p.configured_batch},
            {"b_small", p.b_small},
            {"b_big", p.b_big},
            {"repeats", p.repeats},
            {"num_params", p.num_params},
            {"b_crit", json_number(p.b_crit)},
            {"probe_seconds", p.probe_seconds},
            {"points", points},
            {"tradeoffs", tradeoffs}};
  if (!std::isnan(p.b_crit_low)) j["b_crit_low"] = json_number(p.b_crit_low), j["b_crit_high"] = json_number(p.b_crit_high);
  return j;
}

NoiseProbe noise_probe_from_json(const std::string& text, const std::string& where) {
  const json j = json::parse(text, nullptr, false);
  const Reader r(where);
  if (j.is_discarded()) r.fail("is not JSON");
  if (r.integer(j, "format_version") != kProbeFormatVersion)
    r.fail(fmt::format("has format_version {}, this hrm reads {}", j["format_version"].dump(), kProbeFormatVersion));
  NoiseProbe p;
  p.config_file = r.string(j, "config_file");
  p.dataset = r.string(j, "dataset");
  p.configured_batch = r.integer(j, "configured_batch");
  p.b_small = r.integer(j, "b_small");
  p.b_big = r.integer(j, "b_big");
  p.repeats = r.integer(j, "repeats");
  p.num_params = r.integer(j, "num_params");
  p.probe_seconds = r.number(j, "probe_seconds");
  for (const json& pt : r.array(j, "points")) {
    NoiseProbePoint point;
    point.at = r.string(pt, "at");
    point.step = r.integer(pt, "step");
    point.seconds = r.number(pt, "seconds");
    for (const json& m : r.array(pt, "modules")) point.modules.push_back({r.string(m, "module"), read_estimate(r, m)});
    if (point.modules.empty() || point.modules.front().module != "all") r.fail("a point's first module is not \"all\"");
    p.points.push_back(std::move(point));
  }
  if (p.points.empty()) r.fail("has no measured points");
  finish_noise_probe(p, {p.configured_batch, p.b_small, p.b_big});
  return p;
}

std::string render_noise_probe_text(const NoiseProbe& p) {
  std::string out = fmt::format("# hrm probe {}  (dataset {}, {} parameters; no optimizer updates, fresh ACT carry)\n",
                                p.config_file, p.dataset, format_count(static_cast<double>(p.num_params)));
  auto rows = noise_probe_rows(p);
  const auto more = tradeoff_rows(p);
  rows.insert(rows.end(), more.begin(), more.end());
  std::size_t wq = 8;
  for (const auto& row : rows) wq = std::max(wq, row.quantity.size());
  out += fmt::format("{:<12} {:<{}} {}\n", "section", "quantity", wq, "value");
  for (const auto& row : rows) out += fmt::format("{:<12} {:<{}} {}\n", row.section, row.quantity, wq, row.value);
  out += std::isfinite(p.b_crit) ? fmt::format("B_crit: {:.3g}\n", p.b_crit) : std::string("B_crit: unresolved\n");
  return out;
}

}  // namespace hrm
