// rules_memory.cpp: estimated per-GPU memory against the configured GPU memory.
#include <fmt/format.h>

#include "analyzer/rules.hpp"

namespace hrm {

void check_memory_rules(const RuleContext& c, std::vector<Finding>& out) {
  constexpr double GiB = 1024.0 * 1024.0 * 1024.0;
  const double cap = c.config.hardware.gpu_memory_gb * GiB;
  const auto& m = c.memory;
  if (m.per_gpu_bytes > cap) {
    out.push_back(make_finding(
        "memory-exceeds-gpu", Severity::Error, "hardware.gpu_memory_gb", m.per_gpu_bytes / GiB, c.config.hardware.gpu_memory_gb,
        fmt::format("estimated {:.1f} GiB per GPU (parameters {:.2f}, optimizer {:.2f}, gradients {:.2f}, puzzle embeddings "
                    "{:.2f}, activations {:.2f}, workspace {:.2f}) exceeds {:.0f} GiB",
                    m.per_gpu_bytes / GiB, m.params_bytes / GiB, m.optimizer_bytes / GiB, m.gradient_bytes / GiB,
                    m.puzzle_emb_bytes / GiB, m.activation_bytes / GiB, m.workspace_bytes / GiB, c.config.hardware.gpu_memory_gb),
        "The run would stop with an out-of-memory error at its first step.",
        fmt::format("lower the per-GPU batch to at most {} (global {} on {} GPUs) or use more GPUs",
                    c.hardware_batch_limit / c.config.hardware.num_gpus, c.hardware_batch_limit, c.config.hardware.num_gpus)));
  }
}

}  // namespace hrm
