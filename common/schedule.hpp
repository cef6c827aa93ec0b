// schedule.hpp: HRM's step count and learning-rate schedule (HRM-SPEC 3.3): one implementation,
// used by the analyzer's plots and by the trainer.
#pragma once

#include <cmath>
#include <cstdint>

namespace hrm {

// total_steps = int(epochs * total_groups * mean_puzzle_examples / global_batch_size)
inline std::int64_t hrm_total_steps(std::int64_t epochs, std::int64_t total_groups,
                                    double mean_puzzle_examples, std::int64_t global_batch_size) {
  return static_cast<std::int64_t>(static_cast<double>(epochs) * static_cast<double>(total_groups) *
                                   mean_puzzle_examples / static_cast<double>(global_batch_size));
}

// LR at optimizer step s (1-based, the counter after increment): linear warmup from base/warm,
// then cosine from base down to base * min_ratio over the remaining steps.
inline double hrm_lr(double base, std::int64_t s, std::int64_t warmup, std::int64_t total, double min_ratio) {
  if (s < warmup) return base * static_cast<double>(s) / static_cast<double>(warmup > 1 ? warmup : 1);
  const double denom = static_cast<double>(total - warmup > 1 ? total - warmup : 1);
  const double progress = static_cast<double>(s - warmup) / denom;
  const double cosine = (1.0 - min_ratio) * 0.5 * (1.0 + std::cos(M_PI * progress));
  return base * (min_ratio + (cosine > 0.0 ? cosine : 0.0));
}

}  // namespace hrm
