// test_util.hpp: helpers shared by the test suites: temp folders, running the CLI, reading files.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <unistd.h>
#include <sys/wait.h>

namespace hrm_test {

inline std::string source_dir() { return HRM_SOURCE_DIR; }
inline std::string hrm_bin() { return HRM_BIN; }

// A fresh folder under /tmp, removed when the object goes out of scope.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hrmtest-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::error_code ec; std::filesystem::remove_all(path, ec); }
  std::string operator/(const std::string& s) const { return (path / s).string(); }
};

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& s) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << s;
}

struct RunResult {
  int code = -1;
  std::string out;  // stdout and stderr together
};

// Runs a shell command, capturing its output and exit code.
inline RunResult run(const std::string& cmd) {
  RunResult r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline RunResult run_hrm(const std::string& args) { return run(hrm_bin() + " " + args); }

// Sudoku-Extreme 1k from data/ (real puzzles), 64 of them held out as the test split: built once per
// test process, removed at its exit.
inline const std::string& sudoku_1k_dataset() {
  static TempDir dir;
  static const std::string path = [] {
    const std::string out = dir / "sudoku";
    const RunResult r = run_hrm("data build sudoku --csv " + source_dir() +
                                "/data/sudoku/sudoku-extreme-train-1k.csv --test-fraction 0.064 --out " + out);
    if (r.code != 0) throw std::runtime_error("building the Sudoku test dataset failed: " + r.out);
    return out;
  }();
  return path;
}

inline bool have_numpy() { return run(std::string(HRM_PYTHON) + " -c 'import numpy'").code == 0; }

}  // namespace hrm_test
