// bench_common.hpp: what every benchmark shares: running a shell command for its output, and the
// JSON document a benchmark writes to bench/results/<name>.json (format_version, the benchmark's
// name, machine, date, commit, then its own fields and results), written atomically.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace hrm::bench {

// stdout of `cmd` (sh -c), trailing newlines removed; empty if it could not start.
std::string shell(const std::string& cmd);

// The repository root (bench/ is one level below it), from this source file's path.
std::string repo_root();

// Writes {format_version, benchmark, machine, date, commit, fields..., results} to
// bench/results/<name>.json and returns that path.
std::string write_results(const std::string& name, const nlohmann::json& fields, const nlohmann::json& results);

}  // namespace hrm::bench
