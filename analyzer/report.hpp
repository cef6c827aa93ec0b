// report.hpp: the analyzer's result, a plain value. Renderers in reports/ turn it into text, JSON,
// Markdown (and HTML); reports/README.md defines every field. The analyzer never prints.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/comm_model.hpp"
#include "analyzer/memory.hpp"
#include "analyzer/noise_scale.hpp"
#include "analyzer/replay.hpp"
#include "common/config.hpp"
#include "datasets/census.hpp"

namespace hrm {

inline constexpr int kReportFormatVersion = 1;

enum class Severity { Error, Warning, Info };
const char* severity_name(Severity s);  // "error" | "warning" | "info"

struct Finding {
  std::string id;          // stable rule id, e.g. "warmup-exceeds-run"
  Severity severity = Severity::Info;
  std::string message;     // what was measured, in one sentence with the numbers
  double value = std::numeric_limits<double>::quiet_NaN();  // the measured value (NaN: none)
  double limit = std::numeric_limits<double>::quiet_NaN();  // the threshold it was held against (NaN: none)
  std::string why;         // why it matters for HRM training
  std::string fix;         // what to change
  std::string key;         // the config key the finding is about (for file:line:col), may be empty
};

struct RegimeView {
  std::string name;                  // "traditional" (B <= groups) or "survey" (B > groups)
  double batch_to_groups = 0;        // B / groups: the classic ratio
  double groups_per_batch = 0;       // group draws per global batch (replay mean; ~B / examples per puzzle)
  double group_fraction_per_update = 0;  // distinct groups per batch / groups
  double repeated_groups_per_batch = 0;  // groups drawn twice or more within one batch (replay mean)
  std::int64_t updates_to_cover_groups = -1;  // steps until every group was seen once (-1: never in the replayed window)
};

struct ScheduleView {
  std::int64_t total_steps = 0;          // HRM's formula (HRM-SPEC 3.3)
  std::int64_t executed_steps = 0;       // what the sampler actually yields, capped at total_steps
  std::int64_t iterations = 0;           // epochs / eval_interval
  std::int64_t empty_iterations = 0;
  std::int64_t dropped_rows = 0;
  std::int64_t truncated_puzzles = 0;
  double updates_per_epoch = 0;          // executed_steps / epochs
  std::int64_t warmup_steps = 0;         // lr_warmup_steps: optimizer steps
  double warmup_examples = 0;            // warmup_steps * B (rows yielded by the loader)
  double warmup_epochs = 0;              // warmup_examples / examples_per_epoch
  double warmup_fresh_examples = 0;      // under ACT, early steps consume about B / halt_max_steps fresh rows
  double warmup_updates_if_examples = 0; // lr_warmup_steps read (wrongly) as examples: / B
  double fresh_examples_per_step = 0;    // B / halt_max_steps at the start of training
  double effective_epochs = 0;           // executed_steps * fresh_examples_per_step / examples_per_epoch (early-training rate)
  double final_lr = 0;                   // LR at the last executed step
  double peak_lr_fraction = 0;           // highest LR reached / base LR (1.0 unless warmup outlasts the run)
};

struct Recommendation {
  std::int64_t global_batch_size = 0;
  std::int64_t num_gpus = 0;             // GPUs to use (<= hardware.num_gpus) so the per-GPU batch stays >= 16
  std::int64_t per_gpu_batch = 0;
  std::int64_t lr_warmup_steps = 0;
  double lr = 0;
  std::string size_class;                // "small" (<= 1K examples/epoch), "medium" (1K-10K), "large"
  std::string rationale;
  std::string recipe_name;               // the published recipe for this kind of data (HRM-SPEC 6.2)
  std::int64_t recipe_batch = 0;
  double recipe_lr = 0;
  std::int64_t recipe_warmup = 0;
};

struct Report {
  int format_version = kReportFormatVersion;
  Config config;
  std::string verdict;                   // "vetted" | "rejected"
  bool strict = false;
  std::string horizon;                   // resolved task horizon: "short" | "long"
  std::string model_family;              // "hrm" | "trm": the model whose shape sized parameters and memory
  Census census;
  RegimeView regime;
  ReplayResult replay;
  ScheduleView schedule;
  std::int64_t per_gpu_batch = 0;
  MemoryEstimate memory;
  MemoryEstimate cpu_memory;             // host memory of one rank of hrmkit's CPU trainer (HRM only; zeros for TRM)
  MemoryEstimate cuda_memory;            // device memory of one GPU of hrmkit's CUDA trainer in cuda_storage (HRM only;
                                         // zeros for TRM)
  std::string cuda_storage;              // "bf16" for forward_dtype bfloat16 (hrm train's default), else "fp32"; "" for TRM
  std::int64_t hardware_batch_limit = 0; // largest global batch that fits memory (per-GPU cap x GPUs)
  CommModel comm;                        // data-parallel communication, predicted step time and scaling
  std::vector<Finding> findings;
  Recommendation recommendation;
  std::optional<NoiseProbe> probe;       // a measured gradient noise scale (hrm probe), folded in by add_noise_probe

  int count(Severity s) const;
};

struct AnalyzeOptions {
  bool strict = false;                   // warnings reject too
  int replay_threads = 0;                // replay workers; 0: one per hardware thread (sweeps use 1 per analysis)
};

// Reads the dataset named by config.data.path (train split) and analyzes the config against it.
Report analyze(const Config& config, const AnalyzeOptions& opts = {});

// The CUDA trainer's device memory per GPU for `report`'s config and dataset in the given storage
// (report.cuda_memory is the one for report.cuda_storage; hrm train --storage may pick the other).
MemoryEstimate cuda_memory_in(const Report& report, bool bf16_storage);

// Folds a probe measured on this config into the report: the probe section, the findings comparing
// the configured and the recommended batch with the measured B_crit (rules_noise_scale.cpp), and the
// verdict again (a strict report rejects on their warnings too).
void add_noise_probe(Report& r, NoiseProbe probe);

}  // namespace hrm
