// comm_model.cpp: bytes per step, ring all-reduce/all-gather time, predicted step time and scaling.
#include "analyzer/comm_model.hpp"

namespace hrm {

double default_interconnect_gbps(const std::string& interconnect) {
  // Conservative per-GPU all-reduce ("bus") bandwidths, in Gbit/s, per direction:
  if (interconnect == "nvlink") return 2400;      // 300 GB/s: NVLink 3 (A100); 8x H100 NVLink 4 measures more
  if (interconnect == "infiniband") return 200;   // one HDR 200 Gb/s HCA per GPU (NDR: 400)
  if (interconnect == "pcie") return 200;         // PCIe 4.0 x16, about 25 GB/s achieved
  if (interconnect == "ethernet") return 100;     // 100 GbE
  return 0;
}

double train_step_flops(const ModelShape& m, const ArchConfig& a, std::int64_t global_batch) {
  const double D = static_cast<double>(m.hidden), I = static_cast<double>(m.intermediate);
  const double T = static_cast<double>(m.tokens), S = static_cast<double>(m.seq_len), V = static_cast<double>(m.vocab);
  // One block, per token, forward: qkv + o + gate_up + down GEMMs (2 FLOPs per multiply-add) and
  // attention's QK^T and AV (2 T D each). 6.98 MFLOP for the Sudoku model (HRM-SPEC 1.10).
  const double block = 2.0 * (4.0 * D * D + 3.0 * D * I) + 4.0 * T * D;
  const double segment_blocks = static_cast<double>(a.H_cycles * a.L_cycles * a.L_layers + a.H_cycles * a.H_layers);
  const double grad_blocks = static_cast<double>(a.L_layers + a.H_layers);  // the 1-step gradient's last L and H calls
  const double forward_segments = a.halt_max_steps > 1 ? 2.0 : 1.0;         // + the Q target's no-grad segment
  const double block_equivalents = segment_blocks * forward_segments + 2.0 * grad_blocks;  // 64 for HRM's recipe
  const double lm_head = 2.0 * D * V * S * (forward_segments + 2.0);
  return static_cast<double>(global_batch) * (T * block_equivalents * block + lm_head);
}

ScalingPoint scaling_point(const CommModel& c, std::int64_t global_batch, std::int64_t W, double step_1) {
  ScalingPoint p;
  p.num_gpus = W;
  p.per_gpu_batch = global_batch / W;
  p.divisible = global_batch % W == 0;
  const double w = static_cast<double>(W), bw = c.interconnect_gbps * 1e9 / 8.0;
  p.compute_s = c.flops_per_step / (w * c.gpu_tflops * 1e12);
  p.allreduce_s = bw > 0 ? 2.0 * (w - 1.0) / w * c.dense_gradient_bytes / bw : 0.0;
  p.allgather_s = bw > 0 ? (w - 1.0) / w * c.puzzle_gather_bytes / bw : 0.0;
  p.comm_s = p.allreduce_s + p.allgather_s;
  p.step_s = p.compute_s + p.comm_s;
  p.efficiency = p.step_s > 0 ? (step_1 > 0 ? step_1 : p.step_s) / (w * p.step_s) : 0.0;
  p.examples_per_s = p.step_s > 0 ? static_cast<double>(global_batch) / p.step_s : 0.0;
  return p;
}

CommModel comm_model(const Config& config, const ModelShape& m, std::int64_t num_params) {
  const HardwareConfig& h = config.hardware;
  const std::int64_t B = config.train.global_batch_size;
  CommModel c;
  c.interconnect = h.interconnect;
  c.interconnect_gbps = h.interconnect_gbps > 0 ? h.interconnect_gbps : default_interconnect_gbps(h.interconnect);
  c.gpu_tflops = h.gpu_tflops;
  c.flops_per_step = train_step_flops(m, config.arch, B);
  c.dense_gradient_bytes = 4.0 * static_cast<double>(num_params);
  const std::int64_t ndim = config.puzzle_emb_ndim();
  c.puzzle_gather_bytes = ndim > 0 ? static_cast<double>(B) * (4.0 * static_cast<double>(ndim) + 4.0) : 0.0;
  c.bytes_per_step = c.dense_gradient_bytes + c.puzzle_gather_bytes;
  const double step_1 = scaling_point(c, B, 1, 0).step_s;
  for (std::int64_t W : {1, 2, 4, 8, 16, 32, 64}) c.scaling.push_back(scaling_point(c, B, W, step_1));
  c.configured = scaling_point(c, B, h.num_gpus, step_1);
  return c;
}

}  // namespace hrm
