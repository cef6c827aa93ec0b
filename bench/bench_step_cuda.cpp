// bench_step_cuda.cpp: the CUDA trainer's whole training step and evaluation at HRM's real shapes,
// the hrmkit side of the table against bench/bench_torch_gpu.py (HRM's own PyTorch code on the same
// GPU). HRM's 27M model (hidden 512, 8 heads, 4 + 4 layers, 2 x 2 cycles, halt_max_steps 16,
// exploration 0.1, RoPE, stablemax, a 512-wide puzzle embedding) at
//   sudoku_b768 / sudoku_b384: T = 82 (81 cells + 1 puzzle row), vocab 11, 1 identifier
//   arc_b96:                   T = 901, vocab 12, 960,000 identifiers (ARC-1's table), b = 96 per GPU
// Step: cuda::make_train_step (trainer/cuda/cuda_train_step.hpp) on a fixed random batch, the whole
// ACT step, both optimizers and the per-step checks, as `hrm train --device cuda` runs it (data
// loading excluded). Wall time per step (the step ends with its stats downloaded, so it is synced),
// median of --steps after 2 warm-up steps. FLOPs: the analyzer's train_step_flops (reports/README.md's
// flops_per_step); MFU against --peak-tflops (989: H100/H200 SXM dense bf16). --math (cuda::GemmMath,
// trainer/cuda/cuda_ops.hpp; fp32 storage only): bf16 (the default) rounds the fp32 arrays' GEMM
// inputs to bf16 on the tensor cores (dense peak 989 TFLOP/s on H100/H200 SXM); tf32 to TF32
// (495); fp32 is the parity path (67 TFLOP/s peak). --storage (cuda::Storage, cuda_train_step.hpp):
// bf16 (the default, HRM's own storage, what hrm train uses for forward_dtype = "bfloat16": bf16
// activations and weight copy, bf16 GEMMs whatever --math says) or fp32 (fp32 arrays, --math's GEMMs).
// Evaluation: 16 evaluation segments of HrmAct<CudaOps, T> per batch from a fresh carry.
// Device memory: cudaMemGetInfo's used bytes after the timed steps (the context included), against
// the analyzer's estimate of the CUDA trainer (estimate_cuda_memory, the preflight's cuda_trainer_bytes).
// Recipe projection (issue 6's 45-minute goal), from the measured sudoku_b768 step and evaluation:
// HRM's Sudoku-Extreme 1k recipe on one GPU is kSudokuRecipeSteps steps at B = 768 plus ten
// evaluations of the whole test split in batches of 768.
// Only meaningful on a GPU: without one it says so and exits 0.
//
// Usage: bench_step_cuda [--configs NAME...] [--steps N] [--storage bf16|fp32] [--math bf16|tf32|fp32]
//                        [--peak-tflops X]
// Prints a table; writes bench/results/step_cuda_bf16_storage.json (bf16 storage) or
// step_cuda_<math>.json (fp32 storage).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>
#include <nlohmann/json.hpp>

#include "analyzer/comm_model.hpp"
#include "analyzer/memory.hpp"
#include "bench/bench_common.hpp"
#include "trainer/cuda/cuda_train_step.hpp"
#include "trainer/cuda/model_device.hpp"

using namespace hrm;
using i64 = std::int64_t;

namespace {

struct Shape {
  const char* name;
  i64 seq_len, vocab, identifiers, batch;
};
// configs/sudoku-extreme-1k.toml: `hrm analyze` on the built 1k-aug-1000 data gives schedule.total_steps
// 26,041 (20,000 epochs of 1000 groups, B = 768: 0.73 EFLOP, HRM-SPEC 1.10); eval_interval 2000 of
// 20,000 epochs = 10 evaluations of the 422,786-puzzle test split (data/sudoku/README.md).
constexpr i64 kSudokuRecipeSteps = 26041, kSudokuRecipeEvals = 10, kSudokuTestPuzzles = 422786;

const Shape kShapes[] = {{"sudoku_b768", 81, 11, 1, 768}, {"sudoku_b384", 81, 11, 1, 384}, {"arc_b96", 900, 12, 960000, 96}};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

ActBatch random_batch(const HrmDims& d, i64 b, std::mt19937_64& g) {
  ActBatch x;
  x.resize(b, d.seq_len);
  for (auto& v : x.inputs) v = static_cast<std::int32_t>(1 + g() % (d.vocab - 1));
  for (auto& v : x.labels) v = static_cast<std::int32_t>(1 + g() % (d.vocab - 1));
  for (auto& v : x.puzzle_ids) v = static_cast<std::int32_t>(g() % d.num_identifiers);
  return x;
}

i64 device_bytes_used() {
  std::size_t free = 0, total = 0;
  CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return static_cast<i64>(total - free);
}

// Seconds for one evaluation batch (halt_max_steps segments from a fresh carry), after a warm-up pass.
template <class T> double eval_seconds(const HrmDims& d, i64 b, const HrmWeights<float>& weights, const ActBatch& batch) {
  HrmAct<CudaOps, T> act(d, b);
  const cuda::DeviceWeights<T> w = cuda::to_device<T>(weights);
  cuda::DeviceBatch db;
  cuda::upload(db, batch);
  double eval_s = 0;
  for (int k = 0; k < 2; ++k) {  // the first pass warms up
    cuda::DeviceCarry<T> c = cuda::to_device<T>(ActCarry<float>::initial(d, b));
    const auto t0 = std::chrono::steady_clock::now();
    for (i64 seg = 0; seg < d.halt_max_steps; ++seg) act.queue_eval_step(w, c, db);
    CudaOps::check_errors();  // waits for the segments
    eval_s = seconds_since(t0);
  }
  return eval_s;
}

nlohmann::json bench_shape(const Shape& s, int steps, double peak_tflops, cuda::Storage storage) {
  const ArchConfig arch;  // HRM's hrm_v1.yaml
  const HrmDims d = HrmDims::from(arch, arch.hidden_size, s.vocab, s.seq_len, s.identifiers);
  const i64 b = s.batch;
  TrainerState st;
  st.weights = HrmWeights<float>::init(d, 0);
  st.adam_m.assign(st.weights.layout.total, 0.0f);
  st.adam_v.assign(st.weights.layout.total, 0.0f);
  st.carry = ActCarry<float>::initial(d, b);
  const World solo;
  std::unique_ptr<DeviceStep> step = cuda::make_train_step(d, b, solo, storage);
  step->load(st);
  std::mt19937_64 g(1);
  const ActBatch batch = random_batch(d, b, g);
  const std::vector<std::int32_t> min_halt(static_cast<std::size_t>(b), 0);
  const TrainConfig tc;
  std::vector<double> times;
  for (int k = 0; k < steps + 2; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    step->step(batch, min_halt.data(), 1.0 / static_cast<double>(b), k + 1, 1e-4, 1e-2, tc);
    if (k >= 2) times.push_back(seconds_since(t0));
  }
  std::sort(times.begin(), times.end());
  const double step_s = times[times.size() / 2];
  const i64 used = device_bytes_used();
  step.reset();

  // Evaluation: halt_max_steps segments from a fresh carry, forward only.
  const double eval_s = storage == cuda::Storage::bf16 ? eval_seconds<cuda::bf16>(d, b, st.weights, batch)
                                                       : eval_seconds<float>(d, b, st.weights, batch);
  const ModelShape m = model_shape(arch, arch.hidden_size, s.seq_len, s.vocab);
  const double flops = train_step_flops(m, arch, b);
  const double estimate =
      estimate_cuda_memory(m, false, s.identifiers, arch.hidden_size, b, 1, storage == cuda::Storage::bf16).per_gpu_bytes;
  return {{"config", s.name}, {"batch", b}, {"tokens", d.tokens}, {"step_seconds_median", step_s},
          {"step_seconds_min", times.front()}, {"steps_timed", times.size()},
          {"tokens_per_s", static_cast<double>(b * d.tokens) / step_s}, {"flops_per_step", flops},
          {"tflops", flops / step_s / 1e12}, {"mfu", flops / step_s / (peak_tflops * 1e12)},
          {"device_bytes_used", used}, {"device_bytes_estimate", estimate},
          {"device_used_over_estimate", static_cast<double>(used) / estimate}, {"eval_seconds_per_batch", eval_s}, {"eval_segments", d.halt_max_steps},
          {"eval_examples_per_s", static_cast<double>(b) / eval_s}};
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 10;
  double peak = 989.0;
  std::string math = "bf16", storage = "bf16";
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) steps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--peak-tflops") && i + 1 < argc) peak = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--math") && i + 1 < argc &&
             (!std::strcmp(argv[i + 1], "bf16") || !std::strcmp(argv[i + 1], "tf32") || !std::strcmp(argv[i + 1], "fp32")))
      math = argv[++i];
    else if (!std::strcmp(argv[i], "--storage") && i + 1 < argc &&
             (!std::strcmp(argv[i + 1], "bf16") || !std::strcmp(argv[i + 1], "fp32")))
      storage = argv[++i];
    else if (!std::strcmp(argv[i], "--configs")) {
      while (i + 1 < argc && argv[i + 1][0] != '-') names.emplace_back(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_step_cuda [--configs sudoku_b768 sudoku_b384 arc_b96] [--steps N] "
                           "[--storage bf16|fp32] [--math bf16|tf32|fp32] [--peak-tflops X]  (writes "
                           "bench/results/step_cuda_bf16_storage.json or step_cuda_<math>.json)\n");
      return 2;
    }
  }
  const std::string why = cuda::no_device_reason();
  if (!why.empty()) {
    std::printf("# bench_step_cuda: no CUDA device answers (%s); nothing measured\n", why.c_str());
    return 0;
  }
  cuda::set_gemm_math(cuda::gemm_math_named(math));
  const cuda::Storage store = cuda::storage_named(storage);
  const std::string mode = store == cuda::Storage::bf16 ? "bf16 storage (bf16 GEMMs)" : "fp32 storage, " + math + " GEMMs";
  const std::string result_name = store == cuda::Storage::bf16 ? "step_cuda_bf16_storage" : "step_cuda_" + math;
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("# %s: HRM's 27M model, whole CUDA training step and 16-segment evaluation, %s\n", prop.name,
              mode.c_str());
  std::printf("%-12s %6s %10s %12s %8s %6s %10s %12s\n", "config", "batch", "step s", "tokens/s", "TFLOP/s", "MFU",
              "mem GiB", "eval ex/s");
  nlohmann::json results = nlohmann::json::array(), projection;
  for (const Shape& s : kShapes) {
    if (!names.empty() && std::find(names.begin(), names.end(), s.name) == names.end()) continue;
    const nlohmann::json r = bench_shape(s, std::max(steps, 1), peak, store);
    std::printf("%-12s %6lld %10.4f %12.0f %8.1f %5.1f%% %10.2f %12.0f\n", s.name, static_cast<long long>(s.batch),
                r["step_seconds_median"].get<double>(), r["tokens_per_s"].get<double>(), r["tflops"].get<double>(),
                100 * r["mfu"].get<double>(), r["device_bytes_used"].get<double>() / (1 << 30),
                r["eval_examples_per_s"].get<double>());
    results.push_back(r);
    if (std::strcmp(s.name, "sudoku_b768") == 0) {
      const i64 eval_batches = kSudokuRecipeEvals * ((kSudokuTestPuzzles + s.batch - 1) / s.batch);
      const double train_s = kSudokuRecipeSteps * r["step_seconds_median"].get<double>();
      const double eval_s = eval_batches * r["eval_seconds_per_batch"].get<double>();
      projection = {{"recipe", "configs/sudoku-extreme-1k.toml on one GPU"}, {"train_steps", kSudokuRecipeSteps},
                    {"eval_batches", eval_batches}, {"train_seconds", train_s}, {"eval_seconds", eval_s},
                    {"total_minutes", (train_s + eval_s) / 60}};
    }
  }
  if (!projection.is_null())
    std::printf("# Sudoku-Extreme 1k recipe projected on this GPU: %.1f min (%lld steps %.1f min + %lld eval batches "
                "%.1f min)\n",
                projection["total_minutes"].get<double>(), static_cast<long long>(kSudokuRecipeSteps),
                projection["train_seconds"].get<double>() / 60,
                static_cast<long long>(projection["eval_batches"].get<i64>()),
                projection["eval_seconds"].get<double>() / 60);
  hrm::bench::write_results(result_name,
                            {{"gpu", {{"name", prop.name}, {"sm", prop.major * 10 + prop.minor}}}, {"peak_tflops", peak},
                             {"storage", storage}, {"gemm_math", store == cuda::Storage::bf16 ? "bf16" : math},
                             {"sudoku_recipe_projection", projection}},
                            results);
  std::printf("# wrote bench/results/%s.json\n", result_name.c_str());
  return 0;
}
