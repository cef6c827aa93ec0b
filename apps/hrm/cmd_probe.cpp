// cmd_probe.cpp: `hrm probe CONFIG [KEY=VALUE...] [--steps N] [--small-batch N] [--big-batch N]
// [--checkpoint CKPT] [--out FILE.json] [--format text|json]`.
//
// Measures the gradient noise scale of the config's model on its dataset (trainer/loop/probe.hpp)
// at the initialisation and, with --checkpoint, at those weights, and prints B_crit and the predicted
// steps/examples trade-off. --out writes probe.json, which `hrm analyze CONFIG --probe FILE` folds
// into the preflight report. Exit code: 0 measured, 2 could not run.
#include <iostream>

#include <boost/program_options.hpp>

#include "apps/hrm/commands.hpp"
#include "common/atomic_write.hpp"
#include "common/error.hpp"
#include "reports/render.hpp"
#include "trainer/loop/probe.hpp"

namespace po = boost::program_options;

namespace hrm::cli {

int probe(const Args& args) {
  std::string config_path, checkpoint, out, format;
  std::vector<std::string> overrides;
  ProbeOptions o;
  bool quiet = false;
  po::options_description opts("hrm probe CONFIG [KEY=VALUE...] [options]");
  opts.add_options()
      ("help,h", "show this help")
      ("steps", po::value(&o.steps)->default_value(4), "repeats per point: sampler batches of B_big rows (each costs one training step at B_big)")
      ("big-batch", po::value(&o.b_big)->default_value(0), "B_big (0: train.global_batch_size)")
      ("small-batch", po::value(&o.b_small)->default_value(0), "B_small, must divide B_big (0: B_big / 8)")
      ("checkpoint", po::value(&checkpoint), "also measure at these weights (full checkpoint or HRM weights file)")
      ("out", po::value(&out), "write probe.json here (for hrm analyze --probe)")
      ("format", po::value(&format)->default_value("text"), "text | json (stdout)")
      ("quiet", po::bool_switch(&quiet), "no progress lines on stderr");
  FileAndOverrides words;
  po::variables_map vm = parse_file_and_overrides(args, opts, words, true);
  if (vm.count("help")) {
    std::cout << opts << "\nNo optimizer update is applied; every slot starts its puzzle (a fresh ACT carry), as at step 1.\n"
              << "exit codes: 0 measured, 2 could not run\n";
    return 0;
  }
  po::notify(vm);
  config_path = words.file;
  overrides = words.overrides;
  if (format != "text" && format != "json")
    throw InputError("--format", fmt::format("'{}' is not a format; expected text or json", format));
  Config config = load_config(config_path);
  for (const auto& kv : overrides) apply_override(config, kv);
  validate_config(config);
  o.checkpoint = checkpoint;
  if (!quiet) o.progress = [](const std::string& line) { std::cerr << "# probe: " << line << "\n"; };
  const NoiseProbe p = probe_noise_scale(config, o);
  const nlohmann::json j = noise_probe_to_json(p);
  if (!out.empty()) write_file_atomic(out, j.dump(2) + "\n");
  std::cout << (format == "json" ? j.dump(2) + "\n" : render_noise_probe_text(p));
  return 0;
}

}  // namespace hrm::cli
