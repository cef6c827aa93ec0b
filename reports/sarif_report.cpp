// sarif_report.cpp: the findings as SARIF 2.1.0 (OASIS), one run of the tool "hrmkit". Each result
// sits at its config key's line and column, so GitHub code scanning and editors annotate the TOML
// file itself; a key set on the command line or left at its default points at the file's first line
// and the message says why. Measured value, limit, why and fix travel in the result's properties.
#include <cctype>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "reports/render.hpp"

namespace hrm {

namespace {

const char* sarif_level(Severity s) {
  switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Info: return "note";
  }
  return "none";
}

// SARIF locations are URI references: a relative path stays relative (GitHub resolves it against
// the repository root), an absolute one becomes a file:// URI; other characters are percent-encoded.
std::string uri_of(const std::string& path) {
  std::string out = !path.empty() && path[0] == '/' ? "file://" : "";
  for (unsigned char c : path) {
    if (std::isalnum(c) || std::strchr("-._~/", c)) out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace

nlohmann::json report_to_sarif(const Report& r) {
  using nlohmann::json;
  json rules = json::array(), results = json::array();
  std::map<std::string, int> rule_index;
  for (const auto& f : r.findings) {
    const auto [it, fresh] = rule_index.try_emplace(f.id, static_cast<int>(rules.size()));
    if (fresh)
      rules.push_back(json{{"id", f.id},
                           {"name", f.id},
                           {"shortDescription", json{{"text", f.why}}},
                           {"defaultConfiguration", json{{"level", sarif_level(f.severity)}}}});
    const SourcePos pos = r.config.position_of(f.key);
    const bool in_file = pos.line > 0 && pos.file == r.config.source_file;
    std::string text = f.message;
    if (f.fix != "none needed") text += " Fix: " + f.fix;
    if (!in_file && !f.key.empty())
      text += pos.file == r.config.source_file ? fmt::format(" ({} is not set in this file: its default applies.)", f.key)
                                               : fmt::format(" ({} is set by {}.)", f.key, pos.file);
    const json region{{"startLine", in_file ? pos.line : 1}, {"startColumn", in_file ? pos.column : 1}};
    const json location{{"physicalLocation", json{{"artifactLocation", json{{"uri", uri_of(r.config.source_file)}}}, {"region", region}}}};
    results.push_back(json{{"ruleId", f.id},
                           {"ruleIndex", it->second},
                           {"level", sarif_level(f.severity)},
                           {"message", json{{"text", text}}},
                           {"locations", json::array({location})},
                           {"properties", json{{"key", f.key}, {"value", json_number(f.value)}, {"limit", json_number(f.limit)}, {"why", f.why}, {"fix", f.fix}}}});
  }
  const json driver{{"name", "hrmkit"}, {"fullName", "hrmkit pre-flight analyzer (hrm analyze)"}, {"rules", rules}};
  const json invocation{{"executionSuccessful", true}, {"properties", json{{"verdict", r.verdict}}}};
  const json run{{"tool", json{{"driver", driver}}},
                 {"invocations", json::array({invocation})},
                 {"results", results},
                 {"properties", json{{"verdict", r.verdict}, {"config_file", r.config.source_file}, {"format_version", r.format_version}}}};
  return json{{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"}, {"version", "2.1.0"}, {"runs", json::array({run})}};
}

}  // namespace hrm
