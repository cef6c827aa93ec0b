// error.cpp: formatting of failed internal checks.
#include "common/error.hpp"

namespace hrm {

void check_failed(const char* expr, const char* file, int line, const std::string& msg) {
  throw Error(fmt::format("internal check failed: {} ({}:{}){}{}", expr, file, line,
                          msg.empty() ? "" : ": ", msg));
}

}  // namespace hrm
