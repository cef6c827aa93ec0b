// replay.cpp: runs HRM's training sampler (datasets/sampler) over every iteration of the schedule.
//
// Workers take iterations in order from a counter; each records per-batch counts and the first
// batch that drew each group. Records are merged strictly in iteration order (global step numbers
// need the batch counts of all earlier iterations) and freed once merged, so memory stays at a few
// iterations' records however many iterations the schedule has.
#include "analyzer/replay.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include "common/error.hpp"
#include "datasets/sampler.hpp"

namespace hrm {

namespace {

struct BatchCounts {
  std::int64_t groups = 0, distinct = 0, repeated = 0;
  std::int64_t truncated_rows = 0;
};

struct IterationRecord {
  std::vector<BatchCounts> batches;
  std::vector<std::int64_t> first_seen;  // per group: first batch (0-based, this iteration) drawing it, or -1
  std::int64_t dropped_rows = 0;
};

// One worker's sampler and scratch, reused across the iterations it replays.
class IterationReplayer {
 public:
  IterationReplayer(const PuzzleIndex& index, const ReplaySpec& spec)
      : draws_(spec.seed), sampler_(index, spec.global_batch_size, spec.epochs_per_iter, draws_),
        groups_(static_cast<std::size_t>(index.num_groups())), stamp_(groups_), count_(groups_) {}
  IterationReplayer(const IterationReplayer&) = delete;
  IterationReplayer& operator=(const IterationReplayer&) = delete;

  IterationRecord run(std::int64_t iteration) {
    IterationRecord rec;
    rec.first_seen.assign(groups_, -1);
    std::fill(stamp_.begin(), stamp_.end(), -1);
    sampler_.restore({iteration, 0});
    while (sampler_.next_batch(batch_)) {
      BatchCounts c;
      c.groups = static_cast<std::int64_t>(batch_.puzzles.size());
      c.truncated_rows = batch_.truncated_rows;
      for (const auto& bp : batch_.puzzles) {
        const auto g = static_cast<std::size_t>(bp.group);
        if (stamp_[g] != batch_.index) {
          stamp_[g] = batch_.index;
          count_[g] = 1;
          ++c.distinct;
          if (rec.first_seen[g] < 0) rec.first_seen[g] = batch_.index;
        } else if (++count_[g] == 2) {
          ++c.repeated;
        }
      }
      rec.batches.push_back(c);
    }
    rec.dropped_rows = sampler_.dropped_rows();
    return rec;
  }

 private:
  PhiloxDraws draws_;
  TrainSampler sampler_;
  std::size_t groups_;
  std::vector<std::int64_t> stamp_;  // last batch index that drew the group
  std::vector<std::int64_t> count_;  // draws of the group in that batch
  GlobalBatch batch_;
};

// Folds iteration records, in order, into the result.
class Merger {
 public:
  Merger(ReplayResult& r, const ReplaySpec& spec, std::int64_t groups)
      : r_(r), total_steps_(std::max<std::int64_t>(0, spec.total_steps)), coverage_steps_(spec.coverage_steps),
        first_step_(static_cast<std::size_t>(groups), -1) {}

  void add(const IterationRecord& rec) {
    const auto n = static_cast<std::int64_t>(rec.batches.size());
    r_.batches_per_iteration.push_back(n);
    if (n == 0) ++r_.empty_iterations;
    r_.dropped_rows += rec.dropped_rows;
    for (std::int64_t j = 0; j < n; ++j) {
      const std::int64_t step = r_.yielded_batches + j + 1;
      if (step > total_steps_) break;  // HRM's train_batch returns early past total_steps
      const auto& c = rec.batches[static_cast<std::size_t>(j)];
      groups_ += c.groups;
      distinct_ += c.distinct;
      repeated_ += c.repeated;
      min_groups_ = std::min(min_groups_, c.groups);
      r_.max_groups_per_batch = std::max(r_.max_groups_per_batch, c.groups);
      if (c.truncated_rows > 0) {
        ++r_.truncated_puzzles;
        r_.truncated_rows += c.truncated_rows;
      }
      if (step <= coverage_steps_) r_.groups_per_step.push_back(c.groups);
    }
    for (std::size_t g = 0; g < first_step_.size(); ++g) {
      const std::int64_t step = r_.yielded_batches + rec.first_seen[g] + 1;
      if (first_step_[g] < 0 && rec.first_seen[g] >= 0 && step <= total_steps_) first_step_[g] = step;
    }
    r_.yielded_batches += n;
  }

  void finish() {
    r_.executed_steps = std::min(r_.yielded_batches, total_steps_);
    if (r_.executed_steps > 0) {
      const double steps = static_cast<double>(r_.executed_steps);
      r_.min_groups_per_batch = min_groups_;
      r_.mean_groups_per_batch = static_cast<double>(groups_) / steps;
      r_.mean_distinct_groups_per_batch = static_cast<double>(distinct_) / steps;
      r_.mean_repeated_groups_per_batch = static_cast<double>(repeated_) / steps;
    }
    const auto window = static_cast<std::size_t>(std::min(r_.executed_steps, std::max<std::int64_t>(0, coverage_steps_)));
    std::vector<std::int64_t> newly_seen(window + 1, 0);  // groups first drawn at step s (index s - 1)
    bool all_seen = !first_step_.empty();
    std::int64_t last = 0;
    for (const auto s : first_step_) {
      if (s < 0) {
        all_seen = false;
        continue;
      }
      last = std::max(last, s);
      if (static_cast<std::size_t>(s) <= window) ++newly_seen[static_cast<std::size_t>(s) - 1];
    }
    r_.steps_to_cover_all_groups = all_seen ? last : -1;
    std::int64_t seen = 0;
    for (std::size_t s = 0; s < window; ++s) {
      seen += newly_seen[s];
      r_.coverage.push_back(static_cast<double>(seen) / static_cast<double>(first_step_.size()));
    }
  }

 private:
  ReplayResult& r_;
  std::int64_t total_steps_, coverage_steps_;
  std::vector<std::int64_t> first_step_;  // per group: first executed step (1-based) drawing it, or -1
  std::int64_t groups_ = 0, distinct_ = 0, repeated_ = 0;
  std::int64_t min_groups_ = std::numeric_limits<std::int64_t>::max();
};

}  // namespace

ReplayResult replay_schedule(const DatasetSplit& train, const ReplaySpec& spec) {
  const auto t0 = std::chrono::steady_clock::now();
  HRM_CHECK(spec.global_batch_size > 0 && spec.seed >= 0, "replay of B = {}, seed {}", spec.global_batch_size, spec.seed);
  ReplayResult r;
  r.iterations = spec.epochs_per_iter > 0 ? spec.epochs / spec.epochs_per_iter : 0;
  if (spec.world_size > 0) {
    const std::int64_t b = spec.global_batch_size / spec.world_size;
    for (std::int64_t rank = 0; rank < spec.world_size; ++rank) r.rank_rows.emplace_back(rank * b, (rank + 1) * b);
  }
  const PuzzleIndex index = PuzzleIndex::of(train);
  Merger merger(r, spec, index.num_groups());
  std::deque<IterationReplayer> replayers;  // a deque: the sampler holds a reference to its draws
  const auto hw = static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  const std::int64_t threads = std::clamp<std::int64_t>(spec.threads > 0 ? spec.threads : hw, 1,
                                                        std::max<std::int64_t>(1, r.iterations));
  // Built here, not in the workers, so a dataset the sampler rejects throws on the calling thread.
  for (std::int64_t t = 0; t < threads; ++t) replayers.emplace_back(index, spec);

  std::vector<std::optional<IterationRecord>> done(static_cast<std::size_t>(r.iterations));
  std::atomic<std::int64_t> next{0};
  std::mutex mutex;
  std::size_t merged = 0;
  std::exception_ptr error;
  auto work = [&](IterationReplayer& replayer) {
    try {
      for (std::int64_t i; (i = next.fetch_add(1)) < r.iterations;) {
        IterationRecord rec = replayer.run(i + 1);
        std::lock_guard lock(mutex);
        done[static_cast<std::size_t>(i)] = std::move(rec);
        for (; merged < done.size() && done[merged]; ++merged) {
          merger.add(*done[merged]);
          done[merged].reset();
        }
      }
    } catch (...) {
      std::lock_guard lock(mutex);
      if (!error) error = std::current_exception();
      next = r.iterations;  // stop the other workers
    }
  };
  std::vector<std::thread> pool;
  for (std::int64_t t = 1; t < threads; ++t) pool.emplace_back(work, std::ref(replayers[static_cast<std::size_t>(t)]));
  work(replayers[0]);
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
  merger.finish();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace hrm
