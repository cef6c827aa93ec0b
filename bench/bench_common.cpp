// bench_common.cpp: see bench_common.hpp.
#include "bench/bench_common.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <thread>

#include "common/atomic_write.hpp"

namespace hrm::bench {

std::string shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string repo_root() { return std::filesystem::path(__FILE__).parent_path().parent_path().string(); }

namespace {
// The checkout's HEAD; HRM_COMMIT where there is no .git (the GPU machine gets a copy of the tree).
std::string commit() {
  const std::string head = shell("git -C " + repo_root() + " rev-parse HEAD 2>/dev/null");
  const char* env = std::getenv("HRM_COMMIT");
  return head.empty() && env ? env : head;
}
}  // namespace

std::string write_results(const std::string& name, const nlohmann::json& fields, const nlohmann::json& results) {
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  const std::string root = repo_root();
  nlohmann::json doc = {
      {"format_version", 1},
      {"benchmark", name},
      {"machine", {{"cpu", shell("sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1")},
                   {"hardware_threads", std::max(1u, std::thread::hardware_concurrency())}}},
      {"date", date},
      {"commit", commit()}};
  doc.update(fields);
  doc["results"] = results;
  std::filesystem::create_directories(std::filesystem::path(root) / "bench/results");
  const std::string path = root + "/bench/results/" + name + ".json";
  write_file_atomic(path, doc.dump(2) + "\n");
  return path;
}

}  // namespace hrm::bench
