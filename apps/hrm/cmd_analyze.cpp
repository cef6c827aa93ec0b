// cmd_analyze.cpp: `hrm analyze CONFIG [KEY=VALUE...] [--format text|json|md] [--strict]`.
// Exit code: 0 vetted, 1 rejected, 2 could not analyze (thrown InputError, handled in main).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <boost/program_options.hpp>

#include "analyzer/report.hpp"
#include "apps/hrm/commands.hpp"
#include "common/error.hpp"
#include "reports/render.hpp"

namespace po = boost::program_options;

namespace hrm::cli {

bool stdout_wants_color() {
  const char* nc = std::getenv("NO_COLOR");
  return ::isatty(STDOUT_FILENO) && !(nc && *nc);
}

int analyze(const Args& args) {
  std::string config_path, format;
  std::vector<std::string> overrides;
  bool strict = false;
  po::options_description opts("hrm analyze CONFIG [KEY=VALUE...] [options]");
  opts.add_options()
      ("help,h", "show this help")
      ("format", po::value(&format)->default_value("text"), "text | json | md")
      ("strict", po::bool_switch(&strict), "warnings reject the config too");
  po::options_description hidden;
  hidden.add_options()("config", po::value(&config_path)->required(), "TOML config")(
      "override", po::value(&overrides)->composing(), "KEY=VALUE");
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("config", 1).add("override", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << opts << "\nKEY=VALUE overrides any config key, e.g. train.global_batch_size=384 arch.L_cycles=8\n"
              << "exit codes: 0 vetted, 1 rejected, 2 could not analyze\n";
    return 0;
  }
  po::notify(vm);
  if (format != "text" && format != "json" && format != "md")
    throw InputError("--format", fmt::format("'{}' is not a format; expected text, json or md", format));

  Config config = load_config(config_path);
  for (const auto& kv : overrides) apply_override(config, kv);
  validate_config(config);
  const Report report = hrm::analyze(config, AnalyzeOptions{strict});

  if (format == "json") std::cout << report_to_json(report).dump(2) << "\n";
  else if (format == "md") std::cout << render_markdown(report);
  else std::cout << render_text(report, stdout_wants_color());
  return report.verdict == "vetted" ? 0 : 1;
}

}  // namespace hrm::cli
