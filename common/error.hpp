// error.hpp: the one error family of hrmkit.
//
// Library code throws; only apps/hrm turns an error into a message and an exit code.
//  - InputError: the user's input (a file, a config, a flag) is not what was expected. The message
//    names the file and position; `hint` says what to do. `hrm` exits 2.
//  - Error: an internal invariant failed (HRM_CHECK). A bug in hrmkit, reported with file:line.
//  - DistError: a collective or the launcher failed in a distributed run (MPI_CHECK in trainer/dist,
//    NCCL_CHECK): the call, file:line, and the rank and host (set_error_origin) it failed on.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace hrm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

class InputError : public Error {
 public:
  InputError(std::string where, const std::string& what, std::string hint = {})
      : Error(where.empty() ? what : where + ": " + what), where_(std::move(where)),
        hint_(std::move(hint)) {}
  const std::string& where() const { return where_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string where_;
  std::string hint_;
};

class DistError : public Error {
 public:
  explicit DistError(const std::string& what) : Error(what) {}
};

[[noreturn]] void check_failed(const char* expr, const char* file, int line, const std::string& msg);

// "rank R/W on HOST": named by DistError messages; set once by trainer/dist's World ("" alone).
void set_error_origin(const std::string& origin);
const std::string& error_origin();
// Throws DistError("CALL failed on ORIGIN (file:line): DETAIL").
[[noreturn]] void dist_call_failed(const char* call, const char* file, int line, const std::string& detail);

}  // namespace hrm

// HRM_CHECK(cond, "fmt", args...): an internal invariant; failing it is a bug in hrmkit.
#define HRM_CHECK(cond, ...)                                                            \
  do {                                                                                  \
    if (!(cond)) ::hrm::check_failed(#cond, __FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)
