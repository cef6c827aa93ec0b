// cmd_config.cpp: `hrm config convert FILE.yaml [KEY=VALUE...] [--out FILE.toml]` and
// `hrm config convert [KEY=VALUE...] [--out FILE.toml] -- torchrun ... pretrain.py ...`: HRM's/TRM's
// hydra config (or a pasted command) as the equivalent hrmkit TOML, on stdout or into FILE.toml.
// Analyzing that TOML gives the same report as analyzing the YAML. Exit code: 0 written, 2 could not.
#include <algorithm>
#include <iostream>

#include <boost/program_options.hpp>

#include "apps/hrm/commands.hpp"
#include "common/atomic_write.hpp"
#include "common/error.hpp"
#include "common/hrm_command_line.hpp"
#include "common/hrm_yaml_config.hpp"

namespace po = boost::program_options;

namespace hrm::cli {

int config(const Args& all_args) {
  if (all_args.empty() || all_args[0] != "convert")
    throw InputError("hrm config", all_args.empty() ? "expected a subcommand" : fmt::format("unknown subcommand '{}'", all_args[0]),
                     "hrm config convert FILE.yaml [--out FILE.toml]");
  const auto dashes = std::find(all_args.begin() + 1, all_args.end(), "--");
  const Args args(all_args.begin() + 1, dashes);
  const Args command(dashes == all_args.end() ? dashes : dashes + 1, all_args.end());
  std::string yaml_path, out;
  std::vector<std::string> overrides;
  po::options_description opts("hrm config convert FILE.yaml [KEY=VALUE...] [--out FILE.toml]");
  opts.add_options()
      ("help,h", "show this help")
      ("out", po::value(&out), "write the TOML here (atomically) instead of stdout");
  FileAndOverrides words;
  po::variables_map vm = parse_file_and_overrides(args, opts, words, false);
  if (vm.count("help")) {
    std::cout << opts << "\nreads HRM's/TRM's hydra YAML (defaults, ${...}, HRM's override names) or, after --, a pasted\n"
              << "torchrun/python pretrain.py command; writes the equivalent hrmkit TOML (hrm analyze gives the same report)\n"
              << "exit codes: 0 written, 2 could not (unreadable or malformed input, unknown keys)\n";
    return 0;
  }
  po::notify(vm);
  yaml_path = words.file;
  overrides = words.overrides;
  HrmYamlConfig c;
  if (!command.empty()) {
    if (!yaml_path.empty()) overrides.insert(overrides.begin(), yaml_path);  // no FILE: the first word is an override
    c = hrm_command_line_config(command, overrides);
  } else {
    if (yaml_path.empty()) throw InputError("hrm config convert", "no YAML file given", "hrm config convert config/cfg_pretrain.yaml --out mine.toml");
    c = load_hrm_yaml_config(yaml_path, overrides);
  }
  const std::string toml = hrm_yaml_to_toml(c);
  if (out.empty()) {
    std::cout << toml;
  } else {
    write_file_atomic(out, toml);
    std::cerr << "wrote " << out << "\n";
  }
  return 0;
}

}  // namespace hrm::cli
