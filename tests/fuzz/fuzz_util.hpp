// fuzz_util.hpp: what every fuzz target shares: the one accepted failure (a typed InputError, the
// error a user's bad file is supposed to produce) and a private scratch folder for the parsers that
// read a path rather than a buffer.
//
// A target calls the real library parser on the fuzzer's bytes inside `accept_input_errors`; any
// other exception escapes, reaches std::terminate and is reported as a crash (by libFuzzer, or by
// the standalone replay driver in the normal build). An HRM_CHECK failure (hrm::Error that is not
// an InputError) counts as a bug too: bad input must never trip an internal invariant.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/config.hpp"
#include "common/error.hpp"

namespace hrm_fuzz {

// A folder of this process's own under $TMPDIR (else /dev/shm, else /tmp), made once and removed at
// exit. /dev/shm first: the path-reading targets write every input, and a disk-backed /tmp cut their
// speed to a few hundred executions a second on a loaded machine.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::error_code ec;
    const char* base = tmp && *tmp ? tmp : std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
    std::string tmpl = std::string(base) + "/hrmfuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) std::abort();
    static std::filesystem::path keep = tmpl;
    std::atexit([] { std::error_code ec; std::filesystem::remove_all(keep, ec); });
    return keep;
  }();
  return dir;
}

// Writes the fuzzer's bytes to scratch_dir()/name and returns the path.
inline std::string write_input(const std::string& name, const std::uint8_t* data, std::size_t size) {
  const std::string path = (scratch_dir() / name).string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// Runs `fn`; an InputError is the parser's correct answer to bad bytes, everything else escapes.
template <class Fn>
void accept_input_errors(Fn&& fn) {
  try {
    fn();
  } catch (const hrm::InputError&) {
  }
}

// An accepted input's TOML rendering (resolved.toml, `hrm config convert`) must load and validate
// again; a file hrmkit writes and then refuses is a bug, so this aborts (a crash to the fuzzer).
inline void check_toml_reloads(const std::string& toml, const char* what) {
  try {
    hrm::validate_config(hrm::parse_config(toml, "reloaded.toml"));
  } catch (const hrm::InputError& e) {
    std::fprintf(stderr, "%s renders to TOML that does not load: %s\n%s\n", what, e.what(), toml.c_str());
    std::abort();
  }
}

}  // namespace hrm_fuzz
