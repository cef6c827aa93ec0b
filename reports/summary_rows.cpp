// summary_rows.cpp: number formatting and the rows of the summary table.
#include "reports/summary_rows.hpp"

#include <cmath>

#include <fmt/format.h>

#include "reports/render.hpp"

namespace hrm {

std::string format_count(double v) {
  if (!std::isfinite(v)) return "-";
  if (std::abs(v - std::round(v)) < 1e-9 && std::abs(v) < 1e15) {
    std::string digits = fmt::format("{}", static_cast<long long>(std::llround(std::abs(v))));
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
      if (i && (digits.size() - i) % 3 == 0) out += ',';
      out += digits[i];
    }
    return (v < 0 ? "-" : "") + out;
  }
  return fmt::format("{:.3g}", v);
}

std::string format_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::abs(b) >= 1024.0 && u < 4) { b /= 1024.0; ++u; }
  return fmt::format("{:.2f} {}", b, units[u]);
}

std::vector<SummaryRow> summary_rows(const Report& r) {
  const auto& c = r.census;
  const auto& s = r.schedule;
  const auto& t = r.config.train;
  const auto& m = r.memory;
  auto n = [](double v) { return format_count(v); };
  auto f2 = [](double v) { return fmt::format("{:.2f}", v); };
  return {
      {"dataset", "examples", n(double(c.examples))},
      {"dataset", "puzzles", n(double(c.puzzles))},
      {"dataset", "groups", n(double(c.groups))},
      {"dataset", "examples per puzzle (min/mean/max)", fmt::format("{} / {:.3f} / {}", c.min_puzzle_examples, c.mean_puzzle_examples, c.max_puzzle_examples)},
      {"dataset", "puzzles per group (mean)", f2(c.mean_group_puzzles)},
      {"dataset", "examples per epoch (one puzzle per group)", fmt::format("{:.1f} ({})", c.examples_per_epoch, r.recommendation.size_class)},
      {"dataset", "seq_len / vocab / identifiers", fmt::format("{} / {} / {}", c.seq_len, c.vocab_size, n(double(c.num_puzzle_identifiers)))},
      {"regime", "name (horizon)", fmt::format("{} ({}-horizon task)", r.regime.name, r.horizon)},
      {"regime", "batch / groups", f2(r.regime.batch_to_groups)},
      {"regime", "group draws per batch", fmt::format("{:.1f} ({:.1f}% of groups)", r.regime.groups_per_batch, 100.0 * r.regime.group_fraction_per_update)},
      {"regime", "groups repeated within a batch", f2(r.regime.repeated_groups_per_batch)},
      {"regime", "updates to see every group", r.regime.updates_to_cover_groups < 0 ? "never" : n(double(r.regime.updates_to_cover_groups))},
      {"schedule", "total_steps (HRM formula)", n(double(s.total_steps))},
      {"schedule", "executed steps", n(double(s.executed_steps))},
      {"schedule", "iterations (empty)", fmt::format("{} ({})", s.iterations, s.empty_iterations)},
      {"schedule", "updates per epoch", fmt::format("{:.3f}", s.updates_per_epoch)},
      {"schedule", "rows dropped / puzzles truncated", fmt::format("{} / {}", n(double(s.dropped_rows)), n(double(s.truncated_puzzles)))},
      {"schedule", "fresh examples per step under ACT", fmt::format("{:.1f}", s.fresh_examples_per_step)},
      {"warmup", "steps / examples / epochs", fmt::format("{} / {} / {:.2f}", n(double(s.warmup_steps)), n(s.warmup_examples), s.warmup_epochs)},
      {"warmup", "peak LR reached (of train.lr)", fmt::format("{:.1f}%", 100.0 * s.peak_lr_fraction)},
      {"batch", "global / per GPU (GPUs)", fmt::format("{} / {} ({})", t.global_batch_size, r.per_gpu_batch, r.config.hardware.num_gpus)},
      {"memory", r.model_family == "trm" ? "parameters (TRM count)" : "parameters (HRM count)", n(double(m.num_params))},
      {"memory", "per GPU estimate / capacity", fmt::format("{} / {:.0f} GiB", format_bytes(m.per_gpu_bytes), r.config.hardware.gpu_memory_gb)},
      {"memory", "largest global batch that fits", n(double(r.hardware_batch_limit))},
      {"memory", "host memory per rank, CPU trainer", r.model_family == "hrm" ? format_bytes(r.cpu_memory.per_gpu_bytes) : "-"},
      {"memory", "device memory per GPU, CUDA trainer",
       r.model_family == "hrm" ? format_bytes(r.cuda_memory.per_gpu_bytes) + " (" + r.cuda_storage + " storage)" : "-"},
  };
}

std::vector<SummaryRow> recommendation_rows(const Report& r) {
  const auto& rec = r.recommendation;
  std::vector<SummaryRow> rows = {
      {"recommended", "global batch (GPUs, per GPU)", fmt::format("{} ({}, {})", rec.global_batch_size, rec.num_gpus, rec.per_gpu_batch)},
      {"recommended", "lr_warmup_steps", format_count(double(rec.lr_warmup_steps))},
      {"recommended", "lr", fmt::format("{:.3g}", rec.lr)},
  };
  if (!rec.recipe_name.empty())
    rows.push_back({"published", rec.recipe_name, fmt::format("batch {}, lr {:.3g}, warmup {}", rec.recipe_batch, rec.recipe_lr, rec.recipe_warmup)});
  return rows;
}

std::string verdict_line(const Report& r) {
  const int e = r.count(Severity::Error), w = r.count(Severity::Warning), i = r.count(Severity::Info);
  return fmt::format("{} ({} error{}, {} warning{}, {} note{}{})", r.verdict, e, e == 1 ? "" : "s", w, w == 1 ? "" : "s", i,
                     i == 1 ? "" : "s", r.strict ? "; --strict: warnings reject" : "");
}

}  // namespace hrm
