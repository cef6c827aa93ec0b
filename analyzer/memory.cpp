// memory.cpp: parameter count and a per-GPU memory model of one HRM training step.
//
// The activation model follows HRM-SPEC 1.7/1.10: only the last L and H module calls keep a graph,
// so saved activations cover H_layers + L_layers blocks whatever H_cycles, L_cycles and
// halt_max_steps are. Per block and token (bf16, 2 bytes each) the backward needs: the block input
// (D), q/k/v after RoPE (3D), the attention output (D), the two pre-norm residual sums (2D), the MLP
// input (D), gate|up (2I) and SiLU(gate)*up (I), plus fp32 softmax log-sum-exp per head and two fp32
// RMSNorm scales. On top: the bf16 carry z_H, z_L (2D per token), the largest transient of a no-grad
// block (3D + 2I per token), and logits with the fp64 stablemax working copy and its gradient.
//
// TRM (TinyRecursiveModels, models/recursive_reasoning/trm.py) has one module of L_layers blocks
// that updates both z_L and z_H; its last H cycle keeps a graph through all L_cycles + 1 calls, so
// (L_cycles + 1) x L_layers block activations are saved. With mlp_t, a SwiGLU of width I_t across
// the T tokens replaces attention: per token it keeps D (1 + 3 I_t / T) values instead of the
// attention's q/k/v, output and log-sum-exp (approx.).
#include "analyzer/memory.hpp"

#include <cmath>

namespace hrm {

namespace {
constexpr double kBf16 = 2.0, kFp32 = 4.0;
constexpr double kWorkspaceBytes = 1024.0 * 1024.0 * 1024.0;  // CUDA context + cuBLAS workspace + allocator slack
// A process before it allocates a model: code, libstdc++ and OpenMP. Measured: bench_train_cpu's
// small config peaks at 8 MB of RSS, 3 MB of which are its model, optimizer and buffers.
constexpr double kCpuProcessBytes = 5.0 * 1024.0 * 1024.0;
}  // namespace

ModelShape model_shape(const ArchConfig& a, std::int64_t puzzle_emb_ndim, std::int64_t seq_len, std::int64_t vocab) {
  ModelShape m;
  m.hidden = a.hidden_size;
  m.heads = a.num_heads;
  // I = round_up_256(round(expansion * D * 2/3)); Python's round() is round-half-even, as nearbyint.
  const auto raw = static_cast<std::int64_t>(std::nearbyint(a.expansion * static_cast<double>(a.hidden_size) * 2.0 / 3.0));
  m.intermediate = (raw + 255) / 256 * 256;
  m.puzzle_emb_len = a.puzzle_emb_len > 0 ? a.puzzle_emb_len
                     : puzzle_emb_ndim > 0 ? (puzzle_emb_ndim + a.hidden_size - 1) / a.hidden_size : 0;
  m.seq_len = seq_len;
  m.tokens = seq_len + m.puzzle_emb_len;
  m.vocab = vocab;
  const bool trm = a.family == "trm";
  m.layers = trm ? a.L_layers : a.H_layers + a.L_layers;
  m.grad_blocks = trm ? (a.L_cycles + 1) * a.L_layers : m.layers;
  if (a.mlp_t) {
    const auto raw_t = static_cast<std::int64_t>(std::nearbyint(a.expansion * static_cast<double>(m.tokens) * 2.0 / 3.0));
    m.token_intermediate = (raw_t + 255) / 256 * 256;
  }
  return m;
}

std::int64_t hrm_num_params(const ModelShape& m, bool learned_positions) {
  const std::int64_t D = m.hidden, I = m.intermediate;
  const std::int64_t T = m.tokens, It = m.token_intermediate;
  const std::int64_t mixer = It > 0 ? T * 2 * It + It * T : D * 3 * D + D * D;  // token SwiGLU, or qkv + o
  const std::int64_t block = mixer + D * 2 * I + I * D;                          // + gate_up, down
  std::int64_t n = m.layers * block + m.vocab * D /*embed_tokens*/ + D * m.vocab /*lm_head*/ + 2 * D + 2 /*q_head*/;
  if (learned_positions) n += m.tokens * D;
  return n;
}

static double activation_bytes_per_row(const ModelShape& m) {
  const double D = static_cast<double>(m.hidden), I = static_cast<double>(m.intermediate);
  const double attention = m.token_intermediate > 0
      ? D * (1.0 + 3.0 * static_cast<double>(m.token_intermediate) / static_cast<double>(m.tokens)) * kBf16
      : 4.0 * D * kBf16 + static_cast<double>(m.heads) * kFp32;  // q/k/v + output, log-sum-exp per head
  const double per_block_token = (4.0 * D + 3.0 * I) * kBf16 + attention + 2.0 * kFp32;
  const double per_token = static_cast<double>(m.grad_blocks) * per_block_token + 2.0 * D * kBf16 + (3.0 * D + 2.0 * I) * kBf16;
  const double logits = static_cast<double>(m.seq_len * m.vocab) * (kBf16 + 8.0 /*fp64 stablemax*/ + kFp32 /*grad*/);
  return per_token * static_cast<double>(m.tokens) + logits;
}

static double sum_of_terms(const MemoryEstimate& e) {
  return e.params_bytes + e.optimizer_bytes + e.gradient_bytes + e.puzzle_emb_bytes + e.activation_bytes +
         e.workspace_bytes;
}

MemoryEstimate estimate_memory(const ModelShape& m, bool learned_positions, std::int64_t num_puzzle_identifiers,
                               std::int64_t puzzle_emb_ndim, std::int64_t local_batch, std::int64_t world_size) {
  MemoryEstimate e;
  e.num_params = hrm_num_params(m, learned_positions);
  const double p = static_cast<double>(e.num_params);
  e.params_bytes = p * kFp32;
  e.optimizer_bytes = 2.0 * p * kFp32;
  e.gradient_bytes = p * kFp32;
  const double ndim = static_cast<double>(puzzle_emb_ndim);
  // Table, plus the all-gathered local row gradients and ids of every rank (HRM-SPEC 3.2).
  e.puzzle_emb_bytes = static_cast<double>(num_puzzle_identifiers) * ndim * kFp32 +
                       static_cast<double>(world_size * local_batch) * (ndim * kFp32 + 4.0);
  e.activation_bytes_per_row = activation_bytes_per_row(m);
  e.activation_bytes = e.activation_bytes_per_row * static_cast<double>(local_batch);
  e.workspace_bytes = kWorkspaceBytes;
  e.per_gpu_bytes = sum_of_terms(e);
  return e;
}

// The CPU trainer keeps float32 buffers sized for the local batch, whatever the cycles (elements
// per row, T tokens, S sequence positions, P puzzle positions, h heads; trainer/model), and the CUDA
// trainer the same buffers on the device, in the storage type (`elem` bytes: 4 fp32, 2 bf16) except
// the ops::acc_t ones, fp32 always (the RMSNorm scales, the attention probabilities, the puzzle
// rows' gradient):
//  - per saved block (L_layers + H_layers, plus one scratch for blocks without grad), block.hpp
//    BlockActs: x, attention output, two residual sums, o/down output (5D), qkv (3D), gate|up (2I),
//    SwiGLU output (I), two RMSNorm scales per token (acc), and (not the scratch) what the attention
//    keeps, `attention_kept` per row (acc): the probabilities h T^2, or the CUDA fused attention's
//    log-sum-exp h T;
//  - one BlockGrads: 5D + 3I per token;
//  - HrmModel: input embedding, injection, dz_H, dz_L, d_input (5D per token), the puzzle rows and
//    their gradient (P D each, the gradient acc), z_H at the sequence positions with and without
//    grad and its gradient (3 S D), the same at position 0 (3D);
//  - HrmAct and its carry: logits and their gradient (2 S V), z_H/z_L of the carry and of the
//    Q-target copy (4 T D), the puzzle rows (ndim), plus int32 inputs, labels and argmax (3 S).
static double buffer_bytes_per_row(const ModelShape& m, std::int64_t puzzle_emb_ndim, std::int64_t saved_blocks,
                                   double elem, double attention_kept) {
  const double D = static_cast<double>(m.hidden), I = static_cast<double>(m.intermediate);
  const double T = static_cast<double>(m.tokens), S = static_cast<double>(m.seq_len);
  const double P = static_cast<double>(m.puzzle_emb_len), V = static_cast<double>(m.vocab);
  const double blocks = static_cast<double>(saved_blocks);
  const double stored = blocks * T * (8.0 * D + 3.0 * I) + T * (5.0 * D + 3.0 * I) +
                        (5.0 * T * D + P * D + 3.0 * S * D + 3.0 * D) +
                        (2.0 * S * V + 4.0 * T * D + static_cast<double>(puzzle_emb_ndim));
  const double acc = blocks * 2.0 * T + attention_kept * (blocks - 1.0) + P * D;
  return stored * elem + acc * kFp32 + 3.0 * S * 4.0;
}

MemoryEstimate estimate_cpu_memory(const ModelShape& m, bool learned_positions, std::int64_t num_puzzle_identifiers,
                                   std::int64_t puzzle_emb_ndim, std::int64_t local_batch, std::int64_t world_size) {
  MemoryEstimate e = estimate_memory(m, learned_positions, num_puzzle_identifiers, puzzle_emb_ndim, local_batch, world_size);
  const double T = static_cast<double>(m.tokens);
  e.activation_bytes_per_row =
      buffer_bytes_per_row(m, puzzle_emb_ndim, m.layers + 1, kFp32, static_cast<double>(m.heads) * T * T);
  e.activation_bytes = e.activation_bytes_per_row * static_cast<double>(local_batch);
  e.workspace_bytes = kCpuProcessBytes;
  e.per_gpu_bytes = sum_of_terms(e);
  return e;
}

MemoryEstimate estimate_cuda_memory(const ModelShape& m, bool learned_positions, std::int64_t num_puzzle_identifiers,
                                    std::int64_t puzzle_emb_ndim, std::int64_t local_batch, std::int64_t world_size,
                                    bool bf16_storage) {
  MemoryEstimate e = estimate_cpu_memory(m, learned_positions, num_puzzle_identifiers, puzzle_emb_ndim, local_batch, world_size);
  const double T = static_cast<double>(m.tokens), H = static_cast<double>(m.heads), scores = H * T * T;
  const bool fused_attention = m.heads > 0 && m.hidden == 64 * m.heads;  // trainer/cuda/attention.cu: head size 64
  if (bf16_storage) {
    e.params_bytes += static_cast<double>(e.num_params) * kBf16;  // the model's bf16 copy of the fp32 master
    e.activation_bytes_per_row =
        fused_attention
            // A log-sum-exp per head and token kept, and the backward's rowsum(dO O) beside it.
            ? buffer_bytes_per_row(m, puzzle_emb_ndim, m.layers + 1, kBf16, H * T) + H * T * kFp32
            // The probabilities kept; the backward's dS (fp32) and a bf16 copy, of P for dV, then of dS.
            : buffer_bytes_per_row(m, puzzle_emb_ndim, m.layers + 1, kBf16, scores) + scores * (kFp32 + kBf16);
  } else {
    e.activation_bytes_per_row += scores * kFp32;  // one score array: a forward without kept probabilities, or dS
  }
  e.activation_bytes = e.activation_bytes_per_row * static_cast<double>(local_batch);
  e.workspace_bytes = kWorkspaceBytes;
  e.per_gpu_bytes = sum_of_terms(e);
  return e;
}

std::int64_t max_local_batch(const ModelShape& m, bool learned_positions, std::int64_t num_puzzle_identifiers,
                             std::int64_t puzzle_emb_ndim, std::int64_t world_size, double gpu_bytes) {
  const MemoryEstimate base = estimate_memory(m, learned_positions, num_puzzle_identifiers, puzzle_emb_ndim, 0, world_size);
  const double per_row = base.activation_bytes_per_row +
                         static_cast<double>(world_size) * (static_cast<double>(puzzle_emb_ndim) * kFp32 + 4.0);
  const double room = gpu_bytes - base.per_gpu_bytes;
  return room <= 0 ? 0 : static_cast<std::int64_t>(room / per_row);
}

}  // namespace hrm
