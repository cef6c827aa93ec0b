// memory.hpp: parameter count (as HRM counts it) and per-GPU memory estimate of HRM training.
#pragma once

#include <cstdint>

#include "common/config.hpp"

namespace hrm {

struct ModelShape {
  std::int64_t hidden = 0, heads = 0, intermediate = 0;  // D, H, I (SwiGLU)
  std::int64_t puzzle_emb_len = 0;                       // P = ceil(puzzle_emb_ndim / D)
  std::int64_t seq_len = 0, tokens = 0;                  // S, T = S + P
  std::int64_t vocab = 0, layers = 0;                    // V, blocks with weights: H_layers + L_layers (TRM: L_layers)
  std::int64_t grad_blocks = 0;                          // block calls whose activations the backward keeps
  std::int64_t token_intermediate = 0;                   // TRM mlp_t: SwiGLU width across the T tokens (0: attention)
};

ModelShape model_shape(const ArchConfig& arch, std::int64_t puzzle_emb_ndim, std::int64_t seq_len, std::int64_t vocab);

// Trainable parameters as HRM logs num_params (HRM-SPEC 1.2): excludes the puzzle-embedding table
// and H_init/L_init, which are buffers. 27,275,266 for the Sudoku model. TRM counts the same way
// over its L_layers blocks (with mlp_t, a token-axis SwiGLU replaces each block's attention).
std::int64_t hrm_num_params(const ModelShape& m, bool learned_positions);

struct MemoryEstimate {
  std::int64_t num_params = 0;
  double params_bytes = 0;          // fp32 master weights
  double optimizer_bytes = 0;       // AdamATan2 m and v, fp32
  double gradient_bytes = 0;        // fp32 gradients
  double puzzle_emb_bytes = 0;      // fp32 table on every GPU (+ its all-gathered row gradients)
  double activation_bytes = 0;      // one-step gradient: saved activations of the last L and H stacks + carry
  double workspace_bytes = 0;       // CUDA context, cuBLAS workspace, allocator slack (fixed allowance)
  double per_gpu_bytes = 0;         // sum of the above
  double activation_bytes_per_row = 0;  // activation_bytes / local batch
};

MemoryEstimate estimate_memory(const ModelShape& m, bool learned_positions, std::int64_t num_puzzle_identifiers,
                               std::int64_t puzzle_emb_ndim, std::int64_t local_batch, std::int64_t world_size);

// Host memory of hrmkit's CPU trainer (trainer/cpu, float32 throughout) for one process: the same
// parameter, optimizer, gradient and puzzle-table terms, and in activation_bytes the buffers the
// model allocates once for the local batch (memory.cpp lists them). workspace_bytes is the
// process's own footprint (code, libraries, OpenMP). Not for TRM (hrmkit trains HRM only).
MemoryEstimate estimate_cpu_memory(const ModelShape& m, bool learned_positions, std::int64_t num_puzzle_identifiers,
                                   std::int64_t puzzle_emb_ndim, std::int64_t local_batch, std::int64_t world_size);

// Device memory of hrmkit's CUDA trainer (trainer/cuda) for one GPU: the CPU trainer's parameter,
// optimizer, gradient, puzzle-table and buffer terms, plus the attention's stream-ordered scratch,
// and workspace_bytes for the CUDA context and cuBLAS. fp32 storage: the CPU trainer's float32
// buffers and one score array of heads x T^2 floats per row (the forward of a block whose
// probabilities are not kept, or dS in the backward; an upper bound where the bf16 GEMM mode fuses
// the attention). bf16 storage (cuda::Storage::bf16, hrm train's default for forward_dtype bfloat16):
// the buffers in bf16 but for the fp32 ones (rstd, what the attention keeps, the puzzle rows'
// gradient) and a bf16 copy of the parameters beside the fp32 master; at head size 64 the attention
// is fused (a log-sum-exp per head and token kept, no T x T array), at others it keeps the
// probabilities and its backward holds dS in fp32 plus one bf16 copy (of P, then of dS). Not for TRM.
MemoryEstimate estimate_cuda_memory(const ModelShape& m, bool learned_positions, std::int64_t num_puzzle_identifiers,
                                    std::int64_t puzzle_emb_ndim, std::int64_t local_batch, std::int64_t world_size,
                                    bool bf16_storage);

// Largest local batch whose estimate fits in `gpu_bytes` (0 if not even one row fits).
std::int64_t max_local_batch(const ModelShape& m, bool learned_positions, std::int64_t num_puzzle_identifiers,
                             std::int64_t puzzle_emb_ndim, std::int64_t world_size, double gpu_bytes);

}  // namespace hrm
