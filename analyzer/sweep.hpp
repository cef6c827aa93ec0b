// sweep.hpp: what-if sweeps, `hrm analyze CONFIG --sweep KEY=V1,V2,... [--sweep ...]`. Every
// combination of the swept values is applied to the config through the config validator, analyzed
// (one schedule replay each, several at once) and summarized in one row; among the vetted rows, the
// one with the fewest warnings closest to the analyzer's recommendation is marked.
// reports/README.md defines the fields.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analyzer/report.hpp"

namespace hrm {

struct SweepAxis {
  std::string key;                   // a numeric config key, e.g. "train.global_batch_size"
  bool integer = false;              // the key holds an integer (else a float)
  std::vector<std::string> values;   // as given on the command line
  std::vector<double> numbers;       // the same values, parsed
};

struct SweepRow {
  std::vector<double> values;        // this combination: one value per axis
  std::string verdict;               // "vetted" | "rejected"
  std::string regime;                // "traditional" | "survey"
  std::int64_t global_batch_size = 0, num_gpus = 0, per_gpu_batch = 0;
  std::int64_t groups = 0;           // dataset groups (the regime boundary: B = groups)
  std::int64_t executed_steps = 0;
  double updates_per_epoch = 0;
  double warmup_epochs = 0;          // lr_warmup_steps x B / examples per epoch
  double memory_per_gpu_bytes = 0;
  double gpu_bytes = 0;              // hardware.gpu_memory_gb in bytes
  double lr = 0;                     // train.lr of this combination
  double recommended_lr = 0;         // the square-root rule for this row's batch
  std::int64_t lr_warmup_steps = 0;
  int errors = 0, warnings = 0, notes = 0;
  std::vector<std::string> problems; // ids of the error and warning findings
};

struct SweepResult {
  std::string config_file;
  std::vector<std::string> overrides;  // KEY=VALUE overrides applied before the sweep
  std::vector<SweepAxis> axes;
  std::vector<SweepRow> rows;          // every combination; the last axis varies fastest
  Recommendation target;               // the analyzer's recommendation for the unswept config
  int recommended = -1;                // index into rows (-1: no combination is vetted)
  double seconds = 0;                  // wall time of all analyses
};

inline constexpr std::size_t kMaxSweepCombinations = 1000;  // a typo should not start hours of replays

// Parses "KEY=V1,V2,...": KEY must be a numeric config key and each value must pass the config
// validator on `base`. Errors are InputErrors naming the argument and the column of the bad part.
SweepAxis parse_sweep_axis(const Config& base, const std::string& arg);

// Analyzes every combination of `axes` applied to `base` on up to `threads` threads (0: one per
// core). `base_report` is the analysis of `base`: its recommendation picks the highlighted row.
SweepResult run_sweep(const Config& base, const Report& base_report, const std::vector<SweepAxis>& axes,
                      const AnalyzeOptions& opts, unsigned threads = 0);

}  // namespace hrm
