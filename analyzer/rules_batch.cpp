// rules_batch.cpp: the global batch against the GPU count: divisibility and per-GPU size.
#include <fmt/format.h>

#include "analyzer/rules.hpp"

namespace hrm {

void check_batch_rules(const RuleContext& c, std::vector<Finding>& out) {
  const auto B = c.config.train.global_batch_size, W = c.config.hardware.num_gpus;
  if (B % W != 0) {
    const auto down = B / W * W, up = down + W;
    out.push_back(make_finding(
        "batch-not-divisible", Severity::Error, "train.global_batch_size", double(B % W), 0,
        fmt::format("global batch {} does not divide by {} GPUs (remainder {})", B, W, B % W),
        "HRM asserts global_batch_size % world_size == 0 and every rank takes exactly B/W rows; the run stops at start-up.",
        fmt::format("set train.global_batch_size to {} or {}", down > 0 ? down : up, up)));
    return;
  }
  const auto b = c.per_gpu_batch;
  if (b < 16 || b > 256) {
    out.push_back(make_finding(
        "per-gpu-batch-range", Severity::Warning, "train.global_batch_size", double(b), b < 16 ? 16.0 : 256.0,
        fmt::format("per-GPU batch is {} ({} / {} GPUs), outside the 16-256 range", b, B, W),
        b < 16 ? "A per-GPU batch below 16 leaves the GPU mostly idle (small GEMMs, launch-bound): the same run costs more GPU-hours."
               : "A per-GPU batch above 256 rarely improves throughput further and risks memory limits; it also means very few updates per epoch.",
        b < 16 ? fmt::format("use fewer GPUs (hardware.num_gpus = {}) or a larger batch", std::max<std::int64_t>(1, B / 16))
               : fmt::format("use more GPUs (hardware.num_gpus = {}) or a smaller batch", (B + 255) / 256)));
  }
}

}  // namespace hrm
