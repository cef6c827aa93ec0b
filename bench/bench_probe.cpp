// bench_probe.cpp: what `hrm probe` costs, relative to one training step of the same config.
//
// Baseline: the median of `--train-steps` optimizer steps of the real Trainer (sampler, ACT step at
// the configured batch B, AdamATan2 and sign-SGD), after one warm-up step. Then the probe at its
// defaults (B_big = B, B_small = B / 8) with `--steps` repeats, in the same process. A repeat runs
// B / B_small ACT steps of B_small rows: the same rows as one training step, in smaller GEMMs and
// without the optimizer update, so the ratio per repeat is near 1 and the probe costs about
// `--steps` training steps.
//
// Usage: bench_probe [CONFIG [KEY=VALUE...]] [--steps N] [--train-steps N]. Default config
// configs/demo-sudoku-cpu.toml (its dataset must be built). Prints a table; writes
// bench/results/probe.json.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/atomic_write.hpp"
#include "trainer/loop/probe.hpp"
#include "trainer/loop/trainer.hpp"

namespace fs = std::filesystem;
using namespace hrm;

namespace {

double train_step_seconds(const Config& cfg, int steps) {
  Trainer t(cfg, cfg.data.path);
  std::vector<double> times;
  while (static_cast<int>(times.size()) < steps + 1) {
    std::optional<StepLog> log;
    if (!t.next_batch(log)) {
      if (t.done()) break;
      t.end_iteration();
      continue;
    }
    if (log) times.push_back(log->seconds);
  }
  times.erase(times.begin());  // warm-up: first touches of the slab and the buffers
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string root = fs::path(__FILE__).parent_path().parent_path().string();
  std::string config_path = root + "/configs/demo-sudoku-cpu.toml";
  std::vector<std::string> overrides;
  int steps = 4, train_steps = 5;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) steps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--train-steps") && i + 1 < argc) train_steps = std::atoi(argv[++i]);
    else if (std::strchr(argv[i], '=')) overrides.push_back(argv[i]);
    else config_path = argv[i];
  }
  Config cfg = load_config(config_path);
  for (const auto& kv : overrides) apply_override(cfg, kv);
  if (fs::path(cfg.data.path).is_relative()) cfg.data.path = (fs::path(root) / cfg.data.path).string();
  validate_config(cfg);

  const double step_s = train_step_seconds(cfg, train_steps);
  ProbeOptions o;
  o.steps = steps;
  const NoiseProbe p = probe_noise_scale(cfg, o);
  const double per_repeat = p.points.front().seconds / static_cast<double>(steps);

  std::printf("# %s: batch %lld, %lld parameters; probe B_small %lld / B_big %lld, %d repeats\n", config_path.c_str(),
              static_cast<long long>(cfg.train.global_batch_size), static_cast<long long>(p.num_params),
              static_cast<long long>(p.b_small), static_cast<long long>(p.b_big), steps);
  std::printf("%-28s %12s %14s\n", "measure", "seconds", "x train step");
  std::printf("%-28s %12.4f %14.2f\n", "training step (median)", step_s, 1.0);
  std::printf("%-28s %12.4f %14.2f\n", "probe repeat (mean)", per_repeat, per_repeat / step_s);
  std::printf("%-28s %12.4f %14.2f\n", "probe, all repeats", p.points.front().seconds, p.points.front().seconds / step_s);
  std::printf("# B_crit at init %.4g\n", p.b_crit);

  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  const char* omp = std::getenv("OMP_NUM_THREADS");
  const nlohmann::json j = {{"format_version", 1},
                            {"bench", "probe"},
                            {"date", stamp},
                            {"config", config_path},
                            {"overrides", overrides},
                            {"omp_num_threads", omp ? omp : ""},
                            {"global_batch_size", cfg.train.global_batch_size},
                            {"num_params", p.num_params},
                            {"b_small", p.b_small},
                            {"b_big", p.b_big},
                            {"repeats", steps},
                            {"train_step_seconds_median", step_s},
                            {"probe_repeat_seconds", per_repeat},
                            {"probe_seconds", p.points.front().seconds},
                            {"repeat_over_train_step", per_repeat / step_s},
                            {"probe_over_train_step", p.points.front().seconds / step_s},
                            {"b_crit_init", std::isfinite(p.b_crit) ? nlohmann::json(p.b_crit) : nlohmann::json(nullptr)}};
  const std::string out = root + "/bench/results/probe.json";
  write_file_atomic(out, j.dump(2) + "\n");
  std::printf("# wrote %s\n", out.c_str());
  return 0;
}
