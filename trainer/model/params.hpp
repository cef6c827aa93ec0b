// params.hpp: HRM ACT V1's shape and its parameters in one slab (ARCHITECTURE.md 6.2).
//
// Trainable tensors (AdamATan2's, counted in num_params) live in one contiguous slab; the same
// layout indexes gradients and optimizer moments. Each tensor has its HRM PyTorch name and shape
// (HRM-SPEC 7.3), so checkpoints use HRM's names. Buffers that HRM does not train with Adam
// (H_init, L_init, the puzzle-embedding table) live beside the slab.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "trainer/ops/ops.hpp"

namespace hrm {

// Everything the model's arithmetic needs to know about its size.
struct HrmDims {
  std::int64_t hidden = 0, heads = 0, head_dim = 0, inter = 0;  // D, H, hd, I (SwiGLU)
  std::int64_t vocab = 0, seq_len = 0, prefix = 0, tokens = 0;   // V, S, P = ceil(ndim/D), T = S + P
  std::int64_t puzzle_ndim = 0, num_identifiers = 0;             // puzzle embedding: rows x ndim (0: off)
  std::int64_t H_layers = 0, L_layers = 0, H_cycles = 0, L_cycles = 0;
  std::int64_t halt_max_steps = 0;
  double halt_exploration_prob = 0;
  bool learned_pos = false;
  double rope_theta = 10000.0, rms_norm_eps = 1e-5;
  ops::LossType loss = ops::LossType::stablemax;

  // From the config's arch section and the dataset's vocab_size, seq_len, num_puzzle_identifiers.
  static HrmDims from(const ArchConfig& arch, std::int64_t puzzle_emb_ndim, std::int64_t vocab, std::int64_t seq_len,
                      std::int64_t num_identifiers);
};

struct TensorSlot {
  std::string name;                 // HRM's name, e.g. "model.inner.H_level.layers.0.self_attn.qkv_proj.weight"
  std::vector<std::int64_t> shape;  // PyTorch's shape
  std::int64_t offset = 0, size = 0;
};

// Offsets of one block's weights in the slab.
struct BlockSlots {
  std::int64_t qkv = 0;      // (3D, D)
  std::int64_t o = 0;        // (D, D)
  std::int64_t gate_up = 0;  // (2I, D): rows 0..I-1 gate, I..2I-1 up
  std::int64_t down = 0;     // (D, I)
};

// The slab's layout: HRM's parameters in model.parameters() order.
struct ParamLayout {
  std::int64_t embed_tokens = 0;  // (V, D)
  std::int64_t embed_pos = -1;    // (T, D), learned positions only
  std::vector<BlockSlots> H, L;   // H_level.layers.i, L_level.layers.i
  std::int64_t lm_head = 0;       // (V, D)
  std::int64_t q_head_w = 0;      // (2, D): row 0 halt, row 1 continue
  std::int64_t q_head_b = 0;      // (2)
  std::int64_t total = 0;         // = num_params (27,275,266 for the Sudoku model)
  std::vector<TensorSlot> tensors;

  static ParamLayout of(const HrmDims& d);
};

// Names of the buffers in HRM's state dict.
inline constexpr const char* kPuzzleEmbName = "model.inner.puzzle_emb.weights";  // (N_ids, ndim)
inline constexpr const char* kHInitName = "model.inner.H_init";                  // (D), bf16 in HRM
inline constexpr const char* kLInitName = "model.inner.L_init";                  // (D)

// Parameters and buffers of one model, in `Memory` (ops.hpp): the host by default; a backend's
// model takes HrmWeights<T, typename Ops::Memory> (trainer/cuda/model_device.hpp uploads them).
template <class T, class Memory = ops::HostMemory> struct HrmWeights {
  using Buffer = typename Memory::template Buffer<T>;
  HrmDims dims;
  ParamLayout layout;
  Buffer params;            // (layout.total)
  Buffer H_init, L_init;    // (D): values representable in bf16, as HRM stores them
  typename Memory::template Buffer<ops::acc_t<T>> puzzle_emb;  // (num_identifiers, puzzle_ndim), zeros at
                                                               // init; fp32 in a bf16 model (HRM-SPEC 1.9)

  // HRM's initialisation (HRM-SPEC 1.3), from a seeded generator of our own (PyTorch's stream is not
  // reproduced): truncated-normal LeCun weights, std 1/sqrt(D) embeddings, q_head zero weight and
  // bias -5, bf16-rounded std-1 H_init/L_init, zero puzzle embeddings. init and cast: host memory only.
  static HrmWeights init(const HrmDims& d, std::uint64_t seed);
  template <class U> HrmWeights<U> cast() const;
};

// JAX-style truncated normal (HRM-SPEC 1.3): truncation at +-2 std-normal units, std corrected so
// the result has standard deviation `std`.
double truncated_normal_comp_std(double std);
float round_to_bf16(float x);  // round-to-nearest-even, as torch's .to(bfloat16)

}  // namespace hrm
