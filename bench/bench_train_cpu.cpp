// bench_train_cpu.cpp: the CPU (Eigen) HRM training step: time per step, achieved GFLOP/s, and
// peak memory, next to this machine's Eigen SGEMM rate and the PyTorch reference's step time
// (tests/reference/hrm_torch.py timed by bench/bench_torch_step.py: float32, PyTorch's SIMD kernels,
// same shapes, same thread count) measured in the same run.
//
// Configs: "small" = the golden-fixture model (hidden 64, 2 heads, 1+1 layers, seq 16, batch 4);
// "mid" = hidden 128, 2 heads, 2+2 layers, Sudoku shape (seq 81, vocab 11), batch 64. Both with
// HRM's 2x2 cycles, halt_max_steps 16, exploration 0.1, stablemax, puzzle embedding on.
// A step is the model's train_step plus the AdamATan2 update of the dense slab (the PyTorch step
// runs its optimizers too; the sign-SGD update of a few puzzle rows is left out on both sides' cost
// scale: it touches batch x ndim numbers). FLOPs are counted from the shapes (matmuls and attention, the forward of both segments a step
// runs plus the backward of the gradient part at twice its forward), not measured.
//
// Usage: bench_train_cpu [--steps N] [--no-torch]. Prints a table; writes
// bench/results/train_cpu.json. Each config runs in a child process so its peak RSS is its own.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzer/memory.hpp"
#include "bench/bench_common.hpp"
#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/loop/adam_atan2.hpp"
#include "trainer/model/act.hpp"

namespace fs = std::filesystem;
using namespace hrm;

namespace {

struct BenchConfig {
  std::string name;
  std::int64_t hidden, heads, H_layers, L_layers, seq_len, vocab, batch;
};
const BenchConfig kConfigs[] = {{"small", 64, 2, 1, 1, 16, 11, 4}, {"mid", 128, 2, 2, 2, 81, 11, 64}};

ArchConfig arch_of(const BenchConfig& c) {
  ArchConfig a;  // HRM's defaults otherwise: 2x2 cycles, expansion 4, halt_max_steps 16, rope
  a.hidden_size = c.hidden;
  a.num_heads = c.heads;
  a.H_layers = c.H_layers;
  a.L_layers = c.L_layers;
  return a;
}

// Matmul + attention FLOPs of one block forward over n = b*T tokens.
double block_flops(const HrmDims& d, std::int64_t b) {
  const double n = static_cast<double>(b * d.tokens), D = static_cast<double>(d.hidden), I = static_cast<double>(d.inter);
  const double T = static_cast<double>(d.tokens);
  return 2 * n * (3 * D * D + D * D + 2 * I * D + I * D) + 4 * static_cast<double>(b) * T * T * D;
}

double step_flops(const HrmDims& d, std::int64_t b) {
  const double blocks_per_segment = static_cast<double>(d.H_cycles * d.L_cycles * d.L_layers + d.H_cycles * d.H_layers);
  const double grad_blocks = static_cast<double>(d.L_layers + d.H_layers);
  const double heads = 2.0 * static_cast<double>(b * d.seq_len * d.hidden * d.vocab);
  return (2 * blocks_per_segment + 2 * grad_blocks) * block_flops(d, b) + 3 * 2 * heads;
}

// Eigen SGEMM at the shape of the mid config's gate_up projection (n = 64*82 rows), best of 50
// after 5 warm-up products (the first ones start OpenMP's team and ramp the clock). Measured in each
// config's own process right after its steps (after its peak RSS is read: the SGEMM operands would
// dominate the small config's footprint), so a busy moment of the machine hits both alike.
double sgemm_gflops() {
  const Eigen::Index n = 64 * 82, k = 128, m = 512;
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, k), w = Eigen::MatrixXf::Random(m, k), y(n, m);
  for (int rep = 0; rep < 5; ++rep) y.noalias() = a * w.transpose();
  double best = 1e300;
  for (int rep = 0; rep < 50; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    y.noalias() = a * w.transpose();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * static_cast<double>(n * k * m) / best / 1e9;
}

// One config in this process: time `steps` training steps after 2 warm-up steps.
nlohmann::json run_config(const BenchConfig& c, int steps) {
  const HrmDims d = HrmDims::from(arch_of(c), c.hidden, c.vocab, c.seq_len, 1);
  HrmWeights<float> w = HrmWeights<float>::init(d, 0);
  std::vector<float> m(w.layout.total), v(w.layout.total);  // AdamATan2 moments: the step includes the update
  HrmAct<CpuOps, float> act(d, c.batch);
  ActCarry<float> carry = ActCarry<float>::initial(d, c.batch);
  ActBatch batch;
  batch.resize(c.batch, c.seq_len);
  std::mt19937 g(1);
  for (auto& v : batch.inputs) v = static_cast<std::int32_t>(g() % c.vocab);
  for (auto& v : batch.labels) v = static_cast<std::int32_t>(1 + g() % (c.vocab - 1));
  std::vector<std::int32_t> min_halt(c.batch, 0);
  std::vector<float> grads(w.layout.total), dpuzzle(c.batch * d.puzzle_ndim);
  std::vector<double> times;
  for (int s = 0; s < steps + 2; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    std::fill(grads.begin(), grads.end(), 0.0f);
    act.train_step(w, carry, batch, min_halt.data(), 1.0 / static_cast<double>(c.batch), grads.data(), dpuzzle.data());
    adam_atan2_step(w.params.data(), grads.data(), m.data(), v.data(), w.layout.total, s + 1, 1e-4, 0.9, 0.95, 0.1);
    if (s >= 2) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  struct rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const double sgemm = sgemm_gflops();
  const MemoryEstimate est = estimate_cpu_memory(model_shape(arch_of(c), c.hidden, c.seq_len, c.vocab), false, 1, c.hidden,
                                             c.batch, 1);
  return {{"config", c.name},
          {"hidden", c.hidden}, {"heads", c.heads}, {"H_layers", c.H_layers}, {"L_layers", c.L_layers},
          {"seq_len", c.seq_len}, {"batch", c.batch}, {"num_params", w.layout.total},
          {"step_seconds_median", median},
          {"step_gflop", step_flops(d, c.batch) / 1e9},
          {"gflops", step_flops(d, c.batch) / median / 1e9},
          {"sgemm_gflops", sgemm},
          {"sgemm_fraction", step_flops(d, c.batch) / median / 1e9 / sgemm},
          {"threads", Eigen::nbThreads()},
          {"peak_rss_bytes", static_cast<double>(ru.ru_maxrss) * 1024.0},
          {"analyzer_cpu_estimate_bytes", est.per_gpu_bytes},
          {"peak_rss_over_estimate", static_cast<double>(ru.ru_maxrss) * 1024.0 / est.per_gpu_bytes}};
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 10;
  bool torch = true;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) steps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-torch")) torch = false;
    else if (!std::strcmp(argv[i], "--child") && i + 1 < argc) only = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_train_cpu [--steps N] [--no-torch]  (writes bench/results/train_cpu.json)\n");
      return 2;
    }
  }
  if (!only.empty()) {  // child mode: one config, JSON on stdout
    for (const auto& c : kConfigs)
      if (c.name == only) std::printf("%s\n", run_config(c, steps).dump().c_str());
    return 0;
  }
  const std::string root = bench::repo_root();
  const std::string torch_blas = bench::shell("readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null");
  std::printf("# %d threads; %% SGEMM = step GFLOP/s over Eigen SGEMM measured in the same process; torch BLAS: %s\n",
              Eigen::nbThreads(), torch_blas.c_str());
  std::printf("%-6s %10s %12s %10s %10s %12s %12s %12s %12s\n", "config", "params", "step (ms)", "GFLOP/s", "% SGEMM",
              "torch (ms)", "speedup", "peak RSS MB", "analyzer MB");
  nlohmann::json results = nlohmann::json::array();
  for (const auto& c : kConfigs) {
    const std::string out = bench::shell(std::string("'") + argv[0] + "' --child " + c.name + " --steps " + std::to_string(steps));
    nlohmann::json r = nlohmann::json::parse(out, nullptr, false);
    if (r.is_discarded()) {
      std::fprintf(stderr, "child for %s failed: %s\n", c.name.c_str(), out.c_str());
      return 1;
    }
    if (torch) {
      const std::string cmd = "/usr/bin/python3 " + root + "/bench/bench_torch_step.py --hidden " +
                              std::to_string(c.hidden) + " --heads " + std::to_string(c.heads) + " --H-layers " +
                              std::to_string(c.H_layers) + " --L-layers " + std::to_string(c.L_layers) + " --seq-len " +
                              std::to_string(c.seq_len) + " --vocab " + std::to_string(c.vocab) + " --batch " +
                              std::to_string(c.batch) + " --steps " + std::to_string(steps) + " 2>/dev/null";
      const auto t = nlohmann::json::parse(bench::shell(cmd), nullptr, false);
      if (!t.is_discarded() && t.contains("step_seconds_median")) {
        r["torch_step_seconds_median"] = t["step_seconds_median"];
        r["torch_threads"] = t.value("threads", 0);
        r["speedup_vs_torch"] = t["step_seconds_median"].get<double>() / r["step_seconds_median"].get<double>();
      }
    }
    std::printf("%-6s %10lld %12.2f %10.1f %9.0f%% %12s %12s %12.0f %12.0f\n", c.name.c_str(),
                static_cast<long long>(r["num_params"].get<std::int64_t>()), r["step_seconds_median"].get<double>() * 1e3,
                r["gflops"].get<double>(), 100 * r["sgemm_fraction"].get<double>(),
                r.contains("torch_step_seconds_median")
                    ? std::to_string(r["torch_step_seconds_median"].get<double>() * 1e3).substr(0, 8).c_str() : "-",
                r.contains("speedup_vs_torch") ? std::to_string(r["speedup_vs_torch"].get<double>()).substr(0, 5).c_str() : "-",
                r["peak_rss_bytes"].get<double>() / 1e6,
                r["analyzer_cpu_estimate_bytes"].get<double>() / 1e6);
    results.push_back(r);
  }
  bench::write_results("train_cpu", {{"torch_blas", torch_blas}}, results);
  std::printf("# wrote bench/results/train_cpu.json; speedup = torch step time / hrmkit step time, same shapes\n");
  return 0;
}
