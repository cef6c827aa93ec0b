// error.cpp: formatting of failed internal checks.
#include "common/error.hpp"

namespace hrm {

void check_failed(const char* expr, const char* file, int line, const std::string& msg) {
  throw Error(fmt::format("internal check failed: {} ({}:{}){}{}", expr, file, line,
                          msg.empty() ? "" : ": ", msg));
}

namespace {
std::string g_origin;  // written once, before any thread or collective starts
}  // namespace

void set_error_origin(const std::string& origin) { g_origin = origin; }
const std::string& error_origin() { return g_origin; }

void dist_call_failed(const char* call, const char* file, int line, const std::string& detail) {
  throw DistError(fmt::format("{} failed on {} ({}:{}): {}", call, g_origin.empty() ? "this process" : g_origin, file,
                              line, detail));
}

}  // namespace hrm
