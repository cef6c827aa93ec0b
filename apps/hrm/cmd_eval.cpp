// cmd_eval.cpp: `hrm eval CHECKPOINT [--config CONFIG] [--data DIR] [--format text|json]
// [--predictions DIR] [--device cpu|cuda|auto] [--storage ...] [--gemm-math ...] [KEY=VALUE...]`: HRM's evaluation of a
// checkpoint on the test split, on the CPU or (--device cuda) on one GPU.
//
// The model shape comes from the checkpoint's stored config (hrmkit checkpoints) or from --config
// (HRM weights files converted by tools/hrm_checkpoint.py); --data overrides the dataset. Metrics
// use HRM's names (HRM-SPEC 2.4, 7.1); the predictions of every test row are saved as .npy files.
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "apps/hrm/commands.hpp"
#include "apps/hrm/device_options.hpp"
#include "common/error.hpp"
#include "common/npy.hpp"
#include "trainer/loop/checkpoint.hpp"
#include "trainer/loop/run.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace hrm::cli {

int eval(const Args& args) {
  std::string ckpt, config_path, data_dir, format, preds_dir;
  DeviceOptions device;
  std::vector<std::string> overrides;
  po::options_description opts("hrm eval CHECKPOINT [options] [KEY=VALUE...]");
  opts.add_options()
      ("help,h", "show this help")
      ("config", po::value(&config_path), "config giving the model shape (default: the one stored in the checkpoint)")
      ("data", po::value(&data_dir), "dataset folder (default: the config's data.path)")
      ("format", po::value(&format)->default_value("text"), "text | json")
      ("predictions", po::value(&preds_dir), "folder for the saved predictions (default: beside the checkpoint)");
  add_device_options(opts, device, "evaluate");
  po::options_description hidden;
  hidden.add_options()("checkpoint", po::value(&ckpt)->required(), "checkpoint")(
      "override", po::value(&overrides)->composing(), "KEY=VALUE");
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("checkpoint", 1).add("override", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << opts << "\nprints HRM's eval metrics (accuracy, exact_accuracy, lm_loss, q_halt_accuracy, q_halt_loss,"
                         " steps) and saves predictions\n";
    return 0;
  }
  po::notify(vm);
  if (format != "text" && format != "json")
    throw InputError("--format", fmt::format("'{}' is not a format; expected text or json", format));
  check_device_options(device, "hrm eval");

  Config config;
  if (!config_path.empty()) {
    config = load_config(config_path);
  } else {
    const std::string stored = checkpoint_config(ckpt);
    if (stored.empty())
      throw InputError(ckpt, "is a weights-only file and carries no config",
                       "pass --config with the model's config (arch section and data.path)");
    config = parse_config(stored, ckpt + " (stored config)");
  }
  for (const auto& kv : overrides) apply_override(config, kv);
  if (!data_dir.empty()) config.data.path = data_dir;
  config.hardware.num_gpus = 1;
  validate_config(config);

  const DatasetSplit train = DatasetSplit::open(config.data.path, "train");
  Trainer t(config, config.data.path, load_weights(ckpt, dims_for(config, train.meta())), nullptr,
            device_step_factory(device, config));
  if (!t.test_split())
    throw InputError(config.data.path, "has no test split", "build the dataset with a test split");
  EvalPredictions preds;
  const EvalResult r = t.evaluate(&preds);
  nlohmann::json j = eval_metrics_json(t, r, preds);

  if (preds_dir.empty()) preds_dir = (fs::path(ckpt).parent_path() / (fs::path(ckpt).stem().string() + "_preds")).string();
  fs::create_directories(preds_dir);
  const auto N = static_cast<std::int64_t>(preds.puzzle_ids.size()), S = preds.seq_len;
  auto save = [&](const std::string& name, const auto& v, std::vector<std::int64_t> shape) {
    write_npy((fs::path(preds_dir) / name).string(), shape, v);
  };
  save("inputs.npy", preds.inputs, {N, S});
  save("labels.npy", preds.labels, {N, S});
  save("predictions.npy", preds.predictions, {N, S});
  save("puzzle_identifiers.npy", preds.puzzle_ids, {N});
  save("q_halt_logits.npy", preds.q_halt, {N});

  if (format == "json") {
    std::cout << nlohmann::json{{"all", j}}.dump(2) << "\n";
  } else {
    std::cout << "# " << ckpt << " on " << config.data.path << " (test split, " << N << " examples)\n";
    for (const auto& [k, v] : j.items()) std::cout << fmt::format("{:<18} {}\n", k, v.dump());
    std::cout << "# predictions: " << preds_dir << "\n";
  }
  return 0;
}

}  // namespace hrm::cli
