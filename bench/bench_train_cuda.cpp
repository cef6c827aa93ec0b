// bench_train_cuda.cpp: the CUDA backend's ops at HRM's Sudoku shape, op by op (a block's forward
// ops, the main backward ones, the loss; the qkv projection also as a bf16 cuBLASLt GEMM), next to
// this GPU's cuBLAS fp32 SGEMM rate measured in the same run.
//
// Shape: hidden 512, 8 heads of 64, SwiGLU 1536, T = 82 (81 cells + 1 puzzle row), vocab 11, batch
// 96 per GPU by default (HRM's global batch 768 over 8 GPUs); --batch changes it. Each op runs
// --reps times after 3 warm-up calls; times are CUDA events around the whole loop (ms per call).
// FLOPs are counted from the shapes (matmuls and attention), not measured; GB/s counts each
// element-wise op's compulsory reads and writes once.
// Only meaningful on a GPU: without one it says so and exits 0 (benchmarks are never pass/fail).
//
// Usage: bench_train_cuda [--batch N] [--reps N]. Prints a table; writes bench/results/train_cuda.json.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>
#include <nlohmann/json.hpp>

#include "bench/bench_common.hpp"
#include "trainer/cuda/bf16.hpp"
#include "trainer/cuda/cuda_ops.hpp"
#include "trainer/cuda/device_buffer.hpp"

using hrm::CudaOps;
using hrm::DeviceBuffer;
using i64 = std::int64_t;

namespace {

struct Timer {
  cudaEvent_t start{}, stop{};
  Timer() {
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
  }
  ~Timer() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  // Milliseconds per call of f over `reps` calls, after 3 warm-up calls.
  double ms(const std::function<void()>& f, int reps) {
    for (int i = 0; i < 3; ++i) f();
    CUDA_CHECK(cudaEventRecord(start, nullptr));
    for (int i = 0; i < reps; ++i) f();
    CUDA_CHECK(cudaEventRecord(stop, nullptr));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float total = 0;
    CUDA_CHECK(cudaEventElapsedTime(&total, start, stop));
    return static_cast<double>(total) / reps;
  }
};

DeviceBuffer<float> random_buffer(std::mt19937_64& rng, i64 count, float scale = 1.0f) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> h(static_cast<std::size_t>(count));
  for (float& x : h) x = u(rng);
  return DeviceBuffer<float>(h);
}

}  // namespace

int main(int argc, char** argv) {
  i64 batch = 96;
  int reps = 20;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) batch = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_train_cuda [--batch N] [--reps N]  (writes bench/results/train_cuda.json)\n");
      return 2;
    }
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("# bench_train_cuda: no CUDA device answers; nothing measured\n");
    return 0;
  }
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));

  const i64 D = 512, H = 8, hd = 64, I = 1536, S = 81, T = S + 1, V = 11, n = batch * T;  // T: one puzzle row
  std::mt19937_64 rng(1);
  DeviceBuffer<float> x = random_buffer(rng, n * D), w_qkv = random_buffer(rng, 3 * D * D, 0.05f),
                      w_o = random_buffer(rng, D * D, 0.05f), w_gu = random_buffer(rng, 2 * I * D, 0.05f),
                      w_down = random_buffer(rng, D * I, 0.05f), qkv(n * 3 * D), probs(batch * H * T * T),
                      attn(n * D), tmp(n * D), h1(n * D), rstd(n), gu(n * 2 * I), act(n * I), dqkv(n * 3 * D),
                      dgu(n * 2 * I), dact(n * I), dh = random_buffer(rng, n * D), g_qkv(3 * D * D), cos(T * hd),
                      sin(T * hd), logits = random_buffer(rng, batch * S * V, 3.0f), dlogits(batch * S * V),
                      big_a = random_buffer(rng, 4096 * 4096), big_c(4096 * 4096);
  std::vector<std::int32_t> lab_h(static_cast<std::size_t>(batch * S));
  for (std::size_t i = 0; i < lab_h.size(); ++i) lab_h[i] = static_cast<std::int32_t>(i % V);
  DeviceBuffer<std::int32_t> labels(lab_h), argmax(batch * S);
  DeviceBuffer<hrm::ops::SeqLoss> seq(batch);
  DeviceBuffer<double> seq_scale(std::vector<double>(batch, 1.0 / static_cast<double>(batch)));
  CudaOps::rope_tables(cos.data(), sin.data(), T, hd, 10000.0);
  DeviceBuffer<__nv_bfloat16> x_bf16(n * D), w_qkv_bf16(3 * D * D);
  hrm::cuda::to_bf16(x_bf16.data(), x.data(), n * D);
  hrm::cuda::to_bf16(w_qkv_bf16.data(), w_qkv.data(), 3 * D * D);

  Timer timer;
  const double sgemm_ms = timer.ms([&] { CudaOps::linear_forward(big_c.data(), big_a.data(), big_a.data(), 4096, 4096, 4096); }, 5);
  const double sgemm_gflops = 2.0 * 4096 * 4096 * 4096 / (sgemm_ms * 1e6);

  struct Op {
    const char* name;
    double flops, bytes;
    std::function<void()> run;
  };
  const double fn = static_cast<double>(n), attn_flops = 4.0 * static_cast<double>(batch * H * T * T * hd);
  const std::vector<Op> ops = {
      {"linear_forward qkv", 2 * fn * D * 3 * D, 0, [&] { CudaOps::linear_forward(qkv.data(), x.data(), w_qkv.data(), n, D, 3 * D); }},
      {"linear_forward_bf16 qkv", 2 * fn * D * 3 * D, 0, [&] { hrm::cuda::linear_forward_bf16(qkv.data(), x_bf16.data(), w_qkv_bf16.data(), n, D, 3 * D); }},
      {"rope_forward", 0, 2 * 4.0 * fn * 2 * D, [&] { CudaOps::rope_forward(qkv.data(), cos.data(), sin.data(), batch, T, H, hd); }},
      {"attention_forward", attn_flops, 0, [&] { CudaOps::attention_forward(attn.data(), probs.data(), qkv.data(), batch, T, H, hd); }},
      {"attention_forward fused", attn_flops, 0, [&] {  // bf16 mode, nothing kept: the fused kernel
         hrm::cuda::set_gemm_math(hrm::cuda::GemmMath::bf16);
         CudaOps::attention_forward<float>(attn.data(), nullptr, qkv.data(), batch, T, H, hd);
         hrm::cuda::set_gemm_math(hrm::cuda::GemmMath::fp32);
       }},
      {"linear_forward o", 2 * fn * D * D, 0, [&] { CudaOps::linear_forward(tmp.data(), attn.data(), w_o.data(), n, D, D); }},
      {"rms_norm_forward (+ residual)", 0, 3 * 4.0 * fn * D, [&] { CudaOps::rms_norm_forward(h1.data(), rstd.data(), tmp.data(), x.data(), n, D, 1e-5); }},
      {"linear_forward gate_up", 2 * fn * D * 2 * I, 0, [&] { CudaOps::linear_forward(gu.data(), h1.data(), w_gu.data(), n, D, 2 * I); }},
      {"swiglu_forward", 0, 3 * 4.0 * fn * I, [&] { CudaOps::swiglu_forward(act.data(), gu.data(), n, I); }},
      {"linear_forward down", 2 * fn * I * D, 0, [&] { CudaOps::linear_forward(tmp.data(), act.data(), w_down.data(), n, I, D); }},
      {"rms_norm_backward", 0, 3 * 4.0 * fn * D, [&] { CudaOps::rms_norm_backward(dh.data(), dh.data(), h1.data(), rstd.data(), n, D); }},
      {"swiglu_backward", 0, 5 * 4.0 * fn * I, [&] { CudaOps::swiglu_backward(dgu.data(), dact.data(), gu.data(), n, I); }},
      {"attention_backward", 2 * attn_flops, 0, [&] { CudaOps::attention_backward(dqkv.data(), attn.data(), qkv.data(), probs.data(), batch, T, H, hd); }},
      {"rope_backward", 0, 2 * 4.0 * fn * 2 * D, [&] { CudaOps::rope_backward(dqkv.data(), cos.data(), sin.data(), batch, T, H, hd); }},
      {"linear_backward qkv", 4 * fn * D * 3 * D, 0, [&] { CudaOps::linear_backward(tmp.data(), g_qkv.data(), dqkv.data(), x.data(), w_qkv.data(), n, D, 3 * D, false); }},
      {"token_loss_forward", 0, 4.0 * batch * S * V, [&] { CudaOps::token_loss_forward(seq.data(), argmax.data(), logits.data(), labels.data(), batch, S, V, hrm::ops::LossType::stablemax); }},
      {"token_loss_backward", 0, 8.0 * batch * S * V, [&] { CudaOps::token_loss_backward(dlogits.data(), logits.data(), labels.data(), seq_scale.data(), batch, S, V, hrm::ops::LossType::stablemax); }},
  };

  std::printf("# %s, cuBLAS fp32 SGEMM (4096^3): %.0f GFLOP/s; batch %lld, T %lld, hidden %lld\n", prop.name, sgemm_gflops,
              static_cast<long long>(batch), static_cast<long long>(T), static_cast<long long>(D));
  std::printf("%-24s %10s %10s %10s %8s\n", "op", "ms", "GFLOP/s", "GB/s", "% SGEMM");
  nlohmann::json results = nlohmann::json::array();
  for (const Op& op : ops) {
    const double ms = timer.ms(op.run, reps);
    const double gflops = op.flops / (ms * 1e6), gbs = op.bytes / (ms * 1e6);
    std::printf("%-24s %10.3f %10.0f %10.0f %7.0f%%\n", op.name, ms, gflops, gbs, 100 * gflops / sgemm_gflops);
    results.push_back({{"op", op.name}, {"ms", ms}, {"gflops", gflops}, {"gbytes_per_s", gbs},
                       {"sgemm_fraction", gflops / sgemm_gflops}});
  }
  CudaOps::check_errors();

  hrm::bench::write_results("train_cuda",
                            {{"gpu", {{"name", prop.name}, {"sm", prop.major * 10 + prop.minor}}},
                             {"shape", {{"batch", batch}, {"tokens", T}, {"hidden", D}, {"heads", H}, {"inter", I}}},
                             {"sgemm_gflops", sgemm_gflops}},
                            results);
  std::printf("# wrote bench/results/train_cuda.json; %% SGEMM = op GFLOP/s / cuBLAS fp32 SGEMM GFLOP/s, same run\n");
  return 0;
}
