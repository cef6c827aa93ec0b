// main.cpp: `hrm` dispatches to a subcommand and turns errors into one message and an exit code:
// 0 success (vetted), 1 rejected config, 2 could not run (usage, unreadable or malformed input).
#include <cstdio>
#include <cstring>
#include <iostream>

#include <boost/program_options/errors.hpp>

#include "apps/hrm/commands.hpp"
#include "common/error.hpp"

namespace {

constexpr const char* kUsage =
    "usage: hrm <command> [options]\n"
    "\n"
    "commands:\n"
    "  data build sudoku|arc|maze ...   build an HRM-format dataset (see `hrm data build KIND --help`)\n"
    "  data info DIR                    census of a built dataset\n"
    "  analyze CONFIG [KEY=VALUE...]    pre-flight analysis of a training config\n"
    "  analyze --hrm-config FILE.yaml   ... of HRM's/TRM's hydra YAML (cfg_pretrain.yaml, all_config.yaml)\n"
    "  analyze -- torchrun ... pretrain.py ...   ... of a pasted HRM/TRM training command\n"
    "  config convert FILE.yaml         HRM's/TRM's YAML as the equivalent hrmkit TOML\n"
    "  train CONFIG [KEY=VALUE...]      analyze, then train HRM (see `hrm train --help`)\n"
    "  eval CHECKPOINT                  evaluate a checkpoint on the test split\n"
    "  probe CONFIG [KEY=VALUE...]      measure the gradient noise scale and the critical batch size\n"
    "  report RUN_DIR [--out FILE]      render a training run as report.html\n"
    "\n"
    "exit codes: 0 ok/vetted, 1 rejected, 2 could not run (usage or bad input), 130 interrupted (train)\n";

int dispatch(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  auto rest = [&](std::size_t n) { return hrm::cli::Args(a.begin() + static_cast<long>(n), a.end()); };
  if (a.empty() || a[0] == "--help" || a[0] == "-h" || a[0] == "help") {
    std::fputs(kUsage, a.empty() ? stderr : stdout);
    return a.empty() ? 2 : 0;
  }
  if (a[0] == "analyze") return hrm::cli::analyze(rest(1));
  if (a[0] == "data" && a.size() >= 2 && a[1] == "build") return hrm::cli::data_build(rest(2));
  if (a[0] == "data" && a.size() >= 2 && a[1] == "info") return hrm::cli::data_info(rest(2));
  if (a[0] == "train") return hrm::cli::train(rest(1));
  if (a[0] == "eval") return hrm::cli::eval(rest(1));
  if (a[0] == "probe") return hrm::cli::probe(rest(1));
  if (a[0] == "report") return hrm::cli::report(rest(1));
  if (a[0] == "config") return hrm::cli::config(rest(1));
  std::fprintf(stderr, "error: unknown command '%s'\n\n%s", a[0].c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const hrm::InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
  } catch (const boost::program_options::error& e) {
    std::cerr << "error: " << e.what() << "\nhint: see --help\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  }
  return 2;
}
