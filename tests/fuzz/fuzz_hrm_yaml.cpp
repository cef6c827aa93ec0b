// fuzz_hrm_yaml.cpp: HRM's/TRM's hydra YAML reader and its Hydra overrides (common/hrm_yaml_config.cpp,
// `hrm analyze --hrm-config FILE.yaml KEY=VALUE...`, `hrm config convert`).
//
// Input: YAML text, optionally followed by a NUL byte and newline-separated override tokens. The
// text is read as if it were the embedded cfg_pretrain.yaml of HRM (TRM's when it mentions "trm"), so
// `defaults: [arch: ...]` composes the embedded arch files without a checkout. A config the reader
// accepts must convert to TOML (`hrm config convert`) that loads and validates again.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "common/hrm_yaml_config.hpp"
#include "tests/fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = in.find('\0');
  hrm::HydraSource src;
  src.text = std::string(in.substr(0, nul));
  src.path = hrm::hrm_embedded_primary(src.text.find("trm") != std::string::npos ? "TRM" : "HRM");
  std::vector<std::string> overrides;
  if (nul != std::string_view::npos) {
    const std::string_view rest = in.substr(nul + 1);
    std::size_t pos = 0;
    while (pos < rest.size()) {
      const std::size_t end = std::min(rest.find('\n', pos), rest.size());
      overrides.emplace_back(rest.substr(pos, end - pos));
      pos = end + 1;
    }
  }
  hrm_fuzz::accept_input_errors([&] {
    const hrm::HrmYamlConfig c = hrm::read_hrm_yaml_config(src, overrides);
    hrm_fuzz::check_toml_reloads(hrm::hrm_yaml_to_toml(c), "an accepted HRM YAML");
  });
  return 0;
}
