// cmd_analyze.cpp: `hrm analyze CONFIG [KEY=VALUE...] [--format text|json|md|sarif] [--strict]
// [--report DIR] [--sweep KEY=V1,V2,...]... [--probe PROBE.json]`; instead of CONFIG, `--hrm-config FILE.yaml` reads HRM's
// or TRM's hydra YAML (HRM's override names), and `-- torchrun ... pretrain.py ...` a pasted command.
// Exit code: 0 vetted, 1 rejected, 2 could not analyze (thrown InputError, handled in main). A sweep
// exits 0 when some combination is vetted and 1 when none is. --probe folds a measured noise scale
// (`hrm probe --out`) into the report: its section and the findings that compare the batch with B_crit.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <boost/program_options.hpp>

#include "analyzer/report.hpp"
#include "analyzer/sweep.hpp"
#include "apps/hrm/commands.hpp"
#include "common/atomic_write.hpp"
#include "common/error.hpp"
#include "common/hrm_command_line.hpp"
#include "common/hrm_yaml_config.hpp"
#include "reports/render.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace hrm::cli {

namespace {

bool stdout_wants_color() {
  const char* nc = std::getenv("NO_COLOR");
  return ::isatty(STDOUT_FILENO) && !(nc && *nc);
}

// The report folder appears whole or not at all: every file goes into a hidden staging folder that
// replaces DIR only at the end (common/atomic_write.hpp), so a failure leaves no partial report.
void write_report_dir(const std::string& dir, const Report& report, const SweepResult* sweep) {
  std::vector<std::pair<std::string, std::string>> files = preflight_files(report);
  if (sweep) {
    files.emplace_back("sweep.json", sweep_to_json(*sweep).dump(2) + "\n");
    files.emplace_back("sweep.md", render_sweep_markdown(*sweep));
    files.emplace_back("sweep.html", render_sweep_html(*sweep));
  }
  try {
    StagingDir stage(dir);
    for (const auto& [name, text] : files) write_file_atomic((fs::path(stage.path()) / name).string(), text);
    std::error_code ec;
    if (fs::is_directory(dir, ec) && fs::is_empty(dir, ec)) fs::remove(dir, ec);  // an empty folder made for the report
    stage.commit("preflight.json");
  } catch (const InputError& e) {
    throw InputError("--report " + dir, fmt::format("cannot write the report folder ({})", e.what()),
                     "give a folder that can be created, or an earlier report folder to replace");
  }
}

}  // namespace

int analyze(const Args& all_args) {
  // Everything after `--` is a pasted training command, parsed by hrm_command_line_config.
  const auto dashes = std::find(all_args.begin(), all_args.end(), "--");
  const Args args(all_args.begin(), dashes);
  const Args command(dashes == all_args.end() ? dashes : dashes + 1, all_args.end());
  std::string config_path, format, report_dir, hrm_config, probe_path;
  std::vector<std::string> overrides, sweeps;
  bool strict = false;
  po::options_description opts("hrm analyze CONFIG [KEY=VALUE...] [options]");
  opts.add_options()
      ("help,h", "show this help")
      ("format", po::value(&format)->default_value("text"), "text | json | md | sarif (SARIF 2.1.0 for code scanning)")
      ("strict", po::bool_switch(&strict), "warnings reject the config too")
      ("hrm-config", po::value(&hrm_config), "read HRM's/TRM's hydra YAML (cfg_pretrain.yaml with defaults, or a checkpoint's "
                                              "all_config.yaml) instead of CONFIG; KEY=VALUE use HRM's names (lr=1e-4, arch.L_cycles=8)")
      ("report", po::value(&report_dir), "also write preflight.{json,md,html,sarif} (and sweep.* with --sweep) into DIR")
      ("sweep", po::value(&sweeps)->composing(), "KEY=V1,V2,...: analyze every combination of the values (repeatable)")
      ("probe", po::value(&probe_path), "fold a measured noise scale (probe.json of hrm probe --out) into the report");
  FileAndOverrides words;
  po::variables_map vm = parse_file_and_overrides(args, opts, words, false);
  if (vm.count("help")) {
    std::cout << opts << "\nKEY=VALUE overrides any config key, e.g. train.global_batch_size=384 arch.L_cycles=8\n"
              << "--sweep train.global_batch_size=96,192,384 --sweep hardware.num_gpus=1,8 analyzes all 6 combinations\n"
              << "hrm analyze [KEY=VALUE...] -- torchrun --nproc-per-node 8 pretrain.py data_path=... lr=1e-4 analyzes a pasted\n"
              << "  HRM/TRM command on HRM's defaults (embedded); GPUs = --nnodes x --nproc-per-node (python pretrain.py: 1)\n"
              << "with --hrm-config or a command, hrmkit keys (hardware.num_gpus=8, task.horizon=long) still apply\n"
              << "exit codes: 0 vetted, 1 rejected, 2 could not analyze; a sweep: 0 when some combination is vetted\n";
    return 0;
  }
  po::notify(vm);
  config_path = words.file;
  overrides = words.overrides;
  if (format != "text" && format != "json" && format != "md" && format != "sarif")
    throw InputError("--format", fmt::format("'{}' is not a format; expected text, json, md or sarif", format));

  Config config;
  if (!hrm_config.empty() || !command.empty()) {
    if (!config_path.empty()) overrides.insert(overrides.begin(), config_path);  // no CONFIG: the first word is an override
    if (!hrm_config.empty() && !command.empty())
      throw InputError("--hrm-config", "give either --hrm-config FILE or a command after --, not both");
    config = command.empty() ? load_hrm_yaml_config(hrm_config, overrides).config
                             : hrm_command_line_config(command, overrides).config;
  } else {
    if (config_path.empty())
      throw InputError("hrm analyze", "no config given",
                       "hrm analyze CONFIG.toml, hrm analyze --hrm-config cfg_pretrain.yaml, or hrm analyze -- torchrun ... pretrain.py ...");
    config = load_config(config_path);
    for (const auto& kv : overrides) apply_override(config, kv);
    validate_config(config);
  }
  std::vector<SweepAxis> axes;
  for (const auto& s : sweeps) axes.push_back(parse_sweep_axis(config, s));
  if (!axes.empty() && format == "sarif")
    throw InputError("--format sarif", "SARIF describes one analysis and cannot show a sweep",
                     "pick a combination from the sweep and run --format sarif with it as KEY=VALUE overrides");

  const AnalyzeOptions analyze_opts{strict};
  Report report = hrm::analyze(config, analyze_opts);
  if (!probe_path.empty()) {
    std::ifstream f(probe_path, std::ios::binary);
    if (!f) throw InputError(probe_path, "cannot be read", "give the file hrm probe --out wrote");
    std::stringstream text;
    text << f.rdbuf();
    add_noise_probe(report, noise_probe_from_json(text.str(), probe_path));
  }
  std::optional<SweepResult> sweep;
  if (!axes.empty()) sweep = run_sweep(config, report, axes, analyze_opts);
  if (!report_dir.empty()) write_report_dir(report_dir, report, sweep ? &*sweep : nullptr);

  const bool color = stdout_wants_color();
  if (sweep) {
    if (format == "json") std::cout << sweep_to_json(*sweep).dump(2) << "\n";
    else if (format == "md") std::cout << render_sweep_markdown(*sweep);
    else std::cout << render_sweep_text(*sweep, color);
  } else {
    if (format == "json") std::cout << report_to_json(report).dump(2) << "\n";
    else if (format == "md") std::cout << render_markdown(report);
    else if (format == "sarif") std::cout << report_to_sarif(report).dump(2) << "\n";
    else std::cout << render_text(report, color);
  }
  std::cout.flush();
  if (!report_dir.empty())  // on stderr: stdout stays one machine-readable document for json, md and sarif
    std::cerr << "report: " << (fs::path(report_dir) / (sweep ? "sweep.html" : "preflight.html")).string() << "\n";
  if (sweep) return sweep->recommended >= 0 ? 0 : 1;
  return report.verdict == "vetted" ? 0 : 1;
}

}  // namespace hrm::cli
