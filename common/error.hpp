// error.hpp: the one error family of hrmkit.
//
// Library code throws; only apps/hrm turns an error into a message and an exit code.
//  - InputError: the user's input (a file, a config, a flag) is not what was expected. The message
//    names the file and position; `hint` says what to do. `hrm` exits 2.
//  - Error: an internal invariant failed (HRM_CHECK). A bug in hrmkit, reported with file:line.
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

[[noreturn]] void check_failed(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace hrm

// HRM_CHECK(cond, "fmt", args...): an internal invariant; failing it is a bug in hrmkit.
#define HRM_CHECK(cond, ...)                                                            \
  do {                                                                                  \
    if (!(cond)) ::hrm::check_failed(#cond, __FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)
