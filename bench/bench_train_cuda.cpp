// bench_train_cuda.cpp: the CUDA backend's ops at HRM's Sudoku shape, op by op (a block's forward
// ops, the main backward ones, the loss; the qkv projection also as a bf16 cuBLASLt GEMM), then one
// whole transformer block (trainer/model/block.hpp) forward, kept and not kept (the fused attention),
// and backward, in fp32 storage with bf16 GEMM inputs and in bf16 storage (cuda::bf16 arrays, HRM's
// precision), next to this GPU's cuBLAS fp32 SGEMM rate measured in the same run.
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
#include "trainer/model/block.hpp"

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

// One transformer block at the bench's shape in storage T: its weights, kept activations (with the
// attention probabilities), the scratch of a forward without grad, and the backward's buffers.
template <class T> struct BlockBench {
  hrm::HrmDims d;
  hrm::BlockSlots slots;
  DeviceBuffer<T> w, dy, dx;
  DeviceBuffer<float> g, cos, sin;
  hrm::BlockActs<CudaOps, T> kept, scratch;
  hrm::BlockGradScratch<CudaOps, T> grad;
  i64 batch;

  BlockBench(const hrm::HrmDims& dims, i64 b) : d(dims), batch(b) {
    const i64 D = d.hidden, I = d.inter, n = b * d.tokens;
    slots = {0, 3 * D * D, 4 * D * D, 4 * D * D + 2 * I * D};
    std::mt19937_64 rng(2);
    w = device_as<T>(rng, 4 * D * D + 3 * I * D, 0.05f);
    dy = device_as<T>(rng, n * D, 1.0f);
    dx.resize(n * D);
    g.resize(4 * D * D + 3 * I * D);
    cos.resize(d.tokens * d.head_dim);
    sin.resize(d.tokens * d.head_dim);
    CudaOps::rope_tables(cos.data(), sin.data(), d.tokens, d.head_dim, d.rope_theta);
    kept.resize(d, b, true);
    scratch.resize(d, b, false);
    grad.resize(d, b);
    const DeviceBuffer<T> x = device_as<T>(rng, n * D, 1.0f);
    CudaOps::copy(kept.x.data(), x.data(), n * D);
    CudaOps::copy(scratch.x.data(), x.data(), n * D);
    CUDA_CHECK(cudaStreamSynchronize(hrm::cuda::stream()));  // before x is freed
  }
  void forward(bool keep) {
    hrm::block_forward<CudaOps>(keep ? kept : scratch, w.data(), slots, cos.data(), sin.data(), d, batch);
  }
  void backward() {  // on the kept activations; dy is overwritten in place (for timing, its values do not matter)
    hrm::block_backward<CudaOps>(dx.data(), dy.data(), kept, w.data(), g.data(), slots, cos.data(), sin.data(), grad,
                                 d, batch);
  }

  template <class U> static DeviceBuffer<U> device_as(std::mt19937_64& rng, i64 count, float scale) {
    std::uniform_real_distribution<float> u(-scale, scale);
    std::vector<U> h(static_cast<std::size_t>(count));
    for (U& x : h) x = static_cast<U>(u(rng));
    return DeviceBuffer<U>(h);
  }
};

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

  hrm::HrmDims dims;
  dims.hidden = D;
  dims.heads = H;
  dims.head_dim = hd;
  dims.inter = I;
  dims.tokens = T;
  BlockBench<float> block_fp32(dims, batch);
  BlockBench<hrm::cuda::bf16> block_bf16(dims, batch);
  const auto bf16_gemms = [](const std::function<void()>& f) {
    return [f] {
      hrm::cuda::set_gemm_math(hrm::cuda::GemmMath::bf16);
      f();
      hrm::cuda::set_gemm_math(hrm::cuda::GemmMath::fp32);
    };
  };

  Timer timer;
  const double sgemm_ms = timer.ms([&] { CudaOps::linear_forward(big_c.data(), big_a.data(), big_a.data(), 4096, 4096, 4096); }, 5);
  const double sgemm_gflops = 2.0 * 4096 * 4096 * 4096 / (sgemm_ms * 1e6);

  struct Op {
    const char* name;
    double flops, bytes;
    std::function<void()> run;
  };
  const double fn = static_cast<double>(n), attn_flops = 4.0 * static_cast<double>(batch * H * T * T * hd);
  const double block_flops = 2 * fn * (D * 3 * D + D * D + D * 2 * I + I * D) + attn_flops;
  const std::vector<Op> ops = {
      {"linear_forward qkv", 2 * fn * D * 3 * D, 0, [&] { CudaOps::linear_forward(qkv.data(), x.data(), w_qkv.data(), n, D, 3 * D); }},
      {"linear_forward_bf16 qkv", 2 * fn * D * 3 * D, 0, [&] { hrm::cuda::linear_forward_bf16(qkv.data(), x_bf16.data(), w_qkv_bf16.data(), n, D, 3 * D); }},
      {"rope_forward", 0, 2 * 4.0 * fn * 2 * D, [&] { CudaOps::rope_forward(qkv.data(), cos.data(), sin.data(), batch, T, H, hd); }},
      {"attention_forward", attn_flops, 0, [&] { CudaOps::attention_forward(attn.data(), probs.data(), qkv.data(), batch, T, H, hd); }},
      {"attention_forward fused", attn_flops, 0, bf16_gemms([&] {  // the fused kernel, keeping the log-sum-exp
         CudaOps::attention_forward<float>(attn.data(), probs.data(), qkv.data(), batch, T, H, hd);
       })},
      {"linear_forward o", 2 * fn * D * D, 0, [&] { CudaOps::linear_forward(tmp.data(), attn.data(), w_o.data(), n, D, D); }},
      {"rms_norm_forward (+ residual)", 0, 3 * 4.0 * fn * D, [&] { CudaOps::rms_norm_forward(h1.data(), rstd.data(), tmp.data(), x.data(), n, D, 1e-5); }},
      {"linear_forward gate_up", 2 * fn * D * 2 * I, 0, [&] { CudaOps::linear_forward(gu.data(), h1.data(), w_gu.data(), n, D, 2 * I); }},
      {"swiglu_forward", 0, 3 * 4.0 * fn * I, [&] { CudaOps::swiglu_forward(act.data(), gu.data(), n, I); }},
      {"linear_forward down", 2 * fn * I * D, 0, [&] { CudaOps::linear_forward(tmp.data(), act.data(), w_down.data(), n, I, D); }},
      {"rms_norm_backward", 0, 3 * 4.0 * fn * D, [&] { CudaOps::rms_norm_backward(dh.data(), dh.data(), h1.data(), rstd.data(), n, D); }},
      {"swiglu_backward", 0, 5 * 4.0 * fn * I, [&] { CudaOps::swiglu_backward(dgu.data(), dact.data(), gu.data(), n, I); }},
      {"attention_backward", 2 * attn_flops, 0, [&] { CudaOps::attention_backward(dqkv.data(), attn.data(), qkv.data(), attn.data(), probs.data(), batch, T, H, hd); }},
      {"attention_backward fused", 2 * attn_flops, 0, bf16_gemms([&] {  // on the log-sum-exp of the fused row above
         CudaOps::attention_backward<float>(dqkv.data(), attn.data(), qkv.data(), attn.data(), probs.data(), batch, T, H, hd);
       })},
      {"rope_backward", 0, 2 * 4.0 * fn * 2 * D, [&] { CudaOps::rope_backward(dqkv.data(), cos.data(), sin.data(), batch, T, H, hd); }},
      {"linear_backward qkv", 4 * fn * D * 3 * D, 0, [&] { CudaOps::linear_backward(tmp.data(), g_qkv.data(), dqkv.data(), x.data(), w_qkv.data(), n, D, 3 * D, false); }},
      {"token_loss_forward", 0, 4.0 * batch * S * V, [&] { CudaOps::token_loss_forward(seq.data(), argmax.data(), logits.data(), labels.data(), batch, S, V, hrm::ops::LossType::stablemax); }},
      {"token_loss_backward", 0, 8.0 * batch * S * V, [&] { CudaOps::token_loss_backward(dlogits.data(), logits.data(), labels.data(), seq_scale.data(), batch, S, V, hrm::ops::LossType::stablemax); }},
      {"block fwd kept, fp32+bf16 GEMM", block_flops, 0, bf16_gemms([&] { block_fp32.forward(true); })},
      {"block fwd no grad, fp32+bf16 GEMM", block_flops, 0, bf16_gemms([&] { block_fp32.forward(false); })},
      {"block bwd, fp32+bf16 GEMM", 2 * block_flops, 0, bf16_gemms([&] { block_fp32.backward(); })},
      {"block fwd kept, bf16 storage", block_flops, 0, [&] { block_bf16.forward(true); }},
      {"block fwd no grad, bf16 storage", block_flops, 0, [&] { block_bf16.forward(false); }},
      {"block bwd, bf16 storage", 2 * block_flops, 0, [&] { block_bf16.backward(); }},
  };

  std::printf("# %s, cuBLAS fp32 SGEMM (4096^3): %.0f GFLOP/s; batch %lld, T %lld, hidden %lld\n", prop.name, sgemm_gflops,
              static_cast<long long>(batch), static_cast<long long>(T), static_cast<long long>(D));
  std::printf("%-34s %10s %10s %10s %8s\n", "op", "ms", "GFLOP/s", "GB/s", "% SGEMM");
  nlohmann::json results = nlohmann::json::array();
  for (const Op& op : ops) {
    const double ms = timer.ms(op.run, reps);
    const double gflops = op.flops / (ms * 1e6), gbs = op.bytes / (ms * 1e6);
    std::printf("%-34s %10.3f %10.0f %10.0f %7.0f%%\n", op.name, ms, gflops, gbs, 100 * gflops / sgemm_gflops);
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
