// replay.hpp: the schedule replay (ARCHITECTURE.md 4.3): HRM's training sampler (datasets/sampler)
// run over the whole schedule with the config's seed, recording what the trainer would get.
//
// Per-batch statistics (groups, truncation, coverage) cover the executed steps, the batches the
// trainer trains on; yielded_batches, batches_per_iteration and dropped_rows describe the sampler's
// whole output. Iterations replay in parallel (each has its own RNG, HRM-SPEC 5.1) and are merged
// in order, so the result does not depend on the thread count.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "datasets/dataset.hpp"

namespace hrm {

struct ReplaySpec {
  std::int64_t global_batch_size = 0;  // B
  std::int64_t world_size = 1;         // W (ranks); B % W == 0 is checked by the rules, not here
  std::int64_t epochs = 0;
  std::int64_t epochs_per_iter = 0;    // eval_interval (or epochs)
  std::int64_t seed = 0;
  std::int64_t total_steps = 0;        // HRM's formula (schedule.hpp); batches past it are skipped
  std::int64_t coverage_steps = 2000;  // how many leading steps to record coverage for
  int threads = 0;                     // worker threads; 0: one per hardware thread
};

struct ReplayResult {
  std::int64_t iterations = 0;               // epochs / epochs_per_iter (integer division, as HRM)
  std::int64_t yielded_batches = 0;          // full global batches the sampler produced
  std::int64_t executed_steps = 0;           // min(yielded, total_steps): optimizer steps that run
  std::int64_t empty_iterations = 0;         // iterations that yielded no batch at all
  std::vector<std::int64_t> batches_per_iteration;
  std::int64_t dropped_rows = 0;             // rows in final partial batches (drop-last), summed
  std::int64_t truncated_puzzles = 0;        // puzzles cut at a batch's end
  std::int64_t truncated_rows = 0;           // examples of those puzzles that were not taken
  std::int64_t min_groups_per_batch = 0, max_groups_per_batch = 0;
  double mean_groups_per_batch = 0.0;        // group draws per full batch
  double mean_distinct_groups_per_batch = 0.0;
  double mean_repeated_groups_per_batch = 0.0;  // groups drawn more than once in one batch
  std::int64_t steps_to_cover_all_groups = -1;  // first step after which every group was seen (-1: never)
  std::vector<double> coverage;              // fraction of groups seen after step s+1, first coverage_steps steps
  std::vector<std::int64_t> groups_per_step; // group draws of each of the first coverage_steps steps
  std::vector<std::pair<std::int64_t, std::int64_t>> rank_rows;  // [begin, end) of each rank's slice
  double seconds = 0.0;                      // wall time of the replay
};

ReplayResult replay_schedule(const DatasetSplit& train, const ReplaySpec& spec);

}  // namespace hrm
