// cmd_report.cpp: `hrm report RUN_DIR [--out FILE]`: renders a training run's directory as one HTML
// page (reports/run_report.hpp), by default RUN_DIR/report.html. Works on a finished, interrupted,
// failed or still running run. Exit code: 0 written, 2 could not (thrown InputError, handled in main).
#include <iostream>

#include <boost/program_options.hpp>

#include "apps/hrm/commands.hpp"
#include "reports/run_report.hpp"

namespace po = boost::program_options;

namespace hrm::cli {

int report(const Args& args) {
  std::string dir, out;
  po::options_description opts("hrm report RUN_DIR [--out FILE]");
  opts.add_options()
      ("help,h", "show this help")
      ("out", po::value(&out), "write the page here instead of RUN_DIR/report.html");
  po::options_description hidden;
  hidden.add_options()("run-dir", po::value(&dir)->required(), "run directory");
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("run-dir", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << opts << "\nreads RUN_DIR/run.json, metrics.jsonl and eval.jsonl (as `hrm train` writes them)\n"
              << "exit codes: 0 written, 2 could not (missing or malformed run files, unwritable --out)\n";
    return 0;
  }
  po::notify(vm);
  const std::string path = write_run_report(dir, out);
  std::cerr << "report: " << path << "\n";
  return 0;
}

}  // namespace hrm::cli
