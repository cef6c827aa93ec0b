// probe.hpp: `hrm probe`'s measurement: the gradient noise scale of the real model on the real data
// (analyzer/noise_scale.hpp for the estimator).
//
// Each repeat takes the next batch of B_big rows from HRM's sampler (the trainer's, at batch B_big,
// with the trainer's rows, labels and exploration draws), splits it into B_big / B_small batches of
// B_small rows and runs one ACT training step (HrmAct::train_step on CpuOps) on each, from a fresh
// carry: every slot starts its puzzle, as at step 1 of a run. The small gradients are the per-batch
// means (loss / B_small), the big gradient is their mean (= one step at B_big), so a repeat costs one
// training step at B_big. No optimizer update is applied: every repeat measures at the same
// weights, those of the initialisation (config seed) and, when given, those of a checkpoint.
// Squared norms are summed per module of the slab (trainer/model/params.hpp): H_level, L_level,
// embeddings (embed_tokens, embed_pos, the puzzle-embedding rows the batch touches) and heads
// (lm_head, q_head); "all" is their sum.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "analyzer/noise_scale.hpp"
#include "common/config.hpp"

namespace hrm {

struct ProbeOptions {
  std::int64_t b_big = 0;    // 0: train.global_batch_size
  std::int64_t b_small = 0;  // 0: b_big / 8 (at least 1); must divide b_big
  std::int64_t steps = 4;    // repeats per point: sampler batches of B_big rows
  std::string checkpoint;    // also measure at these weights (full checkpoint or HRM weights file)
  std::function<void(const std::string&)> progress;  // one line per repeat, when set
};

// InputError for batch sizes that do not fit (B_small must divide B_big, both >= 1, B_small < B_big)
// or a checkpoint of another model shape.
NoiseProbe probe_noise_scale(const Config& cfg, const ProbeOptions& o);

}  // namespace hrm
