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
  // hrmkit's own CUDA trainer keeps the attention probabilities of the saved blocks (and, in fp32
  // storage, float32 activations; HRM's PyTorch code: bf16 and flash attention), so it may not fit
  // where HRM does: a warning, as the config is fine for HRM's own training; hrm train --device cuda
  // refuses what does not fit the device it finds.
  const auto& g = c.cuda_memory;
  if (g.per_gpu_bytes > cap && m.per_gpu_bytes <= cap) {
    const double per_row = g.activation_bytes_per_row;
    const double room = cap - (g.per_gpu_bytes - g.activation_bytes);
    const std::int64_t fits = per_row > 0 && room > 0 ? static_cast<std::int64_t>(room / per_row) : 0;
    out.push_back(make_finding(
        "memory-cuda-trainer", Severity::Warning, "hardware.gpu_memory_gb", g.per_gpu_bytes / GiB,
        c.config.hardware.gpu_memory_gb,
        fmt::format("hrmkit's CUDA trainer ({} storage) needs about {:.1f} GiB per GPU (activations {:.2f} GiB with "
                    "the attention scores, against {:.2f} GiB in HRM's bf16 PyTorch training), more than {:.0f} GiB",
                    c.cuda_storage, g.per_gpu_bytes / GiB, g.activation_bytes / GiB, m.activation_bytes / GiB,
                    c.config.hardware.gpu_memory_gb),
        "hrm train --device cuda would stop with an out-of-memory error; HRM's own training fits.",
        fmt::format("for hrm train --device cuda lower the per-GPU batch to at most {} or use more GPUs", fits)));
  }
}

}  // namespace hrm
