// comm_model.hpp: the communication model of data-parallel HRM training (trainer/dist) and the
// predicted step time and scaling efficiency for 1-64 GPUs. reports/README.md defines every field.
//
// Per optimizer step every rank all-reduces the dense fp32 gradient slab (num_params x 4 bytes) and
// all-gathers the puzzle-embedding rows of the global batch (B x (4 ndim + 4) bytes: fp32 gradient
// row and int32 id; HRM-SPEC 3.2). With a ring over W GPUs at bandwidth bw (bytes/s per GPU):
//   all-reduce  2 (W-1)/W x dense / bw      all-gather  (W-1)/W x gathered / bw
// (latency terms and the 9-double metric reduction are left out: microseconds against milliseconds).
// Compute per step = the FLOPs of one training step of the global batch (HRM-SPEC 1.10: two forward
// segments, the Q target's only when halt_max_steps > 1, plus the backward of the last L and H calls
// at twice their forward) / (W x hardware.gpu_tflops). Predicted step = compute + communication,
// no overlap (the CPU ranks all-reduce after the backward; overlapping buckets with the backward can
// only do better), so the efficiency step(1) / (W step(W)) is a lower bound for a given throughput.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analyzer/memory.hpp"
#include "common/config.hpp"

namespace hrm {

// All-reduce bandwidth per GPU (Gbit/s) assumed for an interconnect when hardware.interconnect_gbps
// is 0. 0 for an unknown name.
double default_interconnect_gbps(const std::string& interconnect);

// FLOPs of one training step (forward, Q target, backward) of `global_batch` rows.
double train_step_flops(const ModelShape& m, const ArchConfig& arch, std::int64_t global_batch);

struct ScalingPoint {
  std::int64_t num_gpus = 0;
  std::int64_t per_gpu_batch = 0;   // floor(B / W)
  bool divisible = true;            // B % W == 0 (HRM-SPEC 5.3 requires it)
  double compute_s = 0;             // flops / (W x tflops)
  double allreduce_s = 0;           // ring all-reduce of the dense slab
  double allgather_s = 0;           // ring all-gather of the puzzle rows
  double comm_s = 0;                // allreduce_s + allgather_s
  double step_s = 0;                // compute_s + comm_s
  double efficiency = 0;            // step_s(1) / (W x step_s)
  double examples_per_s = 0;        // B / step_s
};

struct CommModel {
  std::string interconnect;         // hardware.interconnect
  double interconnect_gbps = 0;     // the bandwidth used: hardware.interconnect_gbps, or the interconnect's default
  double gpu_tflops = 0;            // hardware.gpu_tflops
  double flops_per_step = 0;        // train_step_flops of the global batch
  double dense_gradient_bytes = 0;  // num_params x 4
  double puzzle_gather_bytes = 0;   // B x (4 puzzle_emb_ndim + 4); 0 without a puzzle embedding
  double bytes_per_step = 0;        // dense_gradient_bytes + puzzle_gather_bytes
  ScalingPoint configured;          // at hardware.num_gpus
  std::vector<ScalingPoint> scaling;  // W = 1, 2, 4, 8, 16, 32, 64
};

// The model for `config` (hardware.num_gpus = the configured point) with the given shape and count.
CommModel comm_model(const Config& config, const ModelShape& m, std::int64_t num_params);

// One point of the model: W GPUs, with step_1 the one-GPU step time (for the efficiency).
ScalingPoint scaling_point(const CommModel& c, std::int64_t global_batch, std::int64_t W, double step_1);

}  // namespace hrm
