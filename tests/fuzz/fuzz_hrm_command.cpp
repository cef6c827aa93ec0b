// fuzz_hrm_command.cpp: a pasted HRM/TRM launch command (common/hrm_command_line.cpp,
// `hrm analyze -- torchrun ... pretrain.py OVERRIDE...`).
//
// Input: the command as one word, as `hrm analyze -- "$(cat cmd.txt)"` passes it (the reader splits
// it as a shell would: quotes, backslash-newline); a NUL byte splits it into separate words instead,
// as the shell would have passed them. The resulting config must convert to TOML that loads again.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "common/hrm_command_line.hpp"
#include "tests/fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> argv;
  std::size_t pos = 0;
  while (pos <= in.size()) {
    const std::size_t end = std::min(in.find('\0', pos), in.size());
    argv.emplace_back(in.substr(pos, end - pos));
    pos = end + 1;
  }
  hrm_fuzz::accept_input_errors([&] {
    const hrm::HrmYamlConfig c = hrm::hrm_command_line_config(argv);
    hrm_fuzz::check_toml_reloads(hrm::hrm_yaml_to_toml(c), "an accepted command");
  });
  return 0;
}
