// fuzz_config.cpp: the TOML config loader and KEY=VALUE overrides (common/config.cpp).
//
// Input: TOML text, optionally followed by a NUL byte and newline-separated overrides. The TOML is
// parsed as a config file; when it is rejected the overrides go onto a known-good config instead,
// so they are fuzzed either way. A config that passes validation must render to TOML that loads
// again: a resolved.toml the loader refuses would be a bug, not bad input.
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/config.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

constexpr const char* kBase = "[data]\npath = \"data/x\"\n[train]\nglobal_batch_size = 8\nepochs = 2\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = in.find('\0');
  const std::string toml_text(in.substr(0, nul));
  const std::string_view overrides = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);

  hrm::Config c;
  bool loaded = false;
  hrm_fuzz::accept_input_errors([&] {
    c = hrm::parse_config(toml_text, "fuzz.toml");
    loaded = true;
  });
  if (!loaded) c = hrm::parse_config(kBase, "base.toml");
  bool valid = true;
  std::size_t pos = 0;
  while (pos < overrides.size()) {
    const std::size_t end = std::min(overrides.find('\n', pos), overrides.size());
    const std::string kv(overrides.substr(pos, end - pos));
    pos = end + 1;
    hrm_fuzz::accept_input_errors([&] {
      valid = false;
      hrm::apply_override(c, kv);
      valid = true;
    });
  }
  hrm_fuzz::accept_input_errors([&] {
    valid = false;
    hrm::validate_config(c);
    valid = true;
  });
  if (!valid) return 0;
  (void)hrm::config_to_json(c);
  hrm_fuzz::check_toml_reloads(hrm::config_to_toml(c), "a validated config");
  return 0;
}
