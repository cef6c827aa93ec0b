// sampler.hpp: HRM's batch sampler (HRM-SPEC 5), shared by the analyzer's schedule replay and the
// trainer.
//
// Training (5.1): iteration i (1-based) walks group_order = epochs_per_iter permutations of the
// groups, picks one puzzle per group, takes min(puzzle size, B - filled) of its examples, cuts the
// last puzzle of a batch, and drops the final partial batch. The random draws come from a
// SamplerDraws source, kept apart from the packing so tests can compare the packing on recorded
// draws; PhiloxDraws is HRM's: Generator(Philox(seed + i)), the whole group order drawn before the
// first puzzle pick.
//
// Which examples of a puzzle fill its rows is separate (batch_rows): HRM takes them from each
// rank's unseeded global RNG (5.4); here one seeded choice that every rank agrees on.
//
// Test (5.2): windows of B examples in storage order, sliced per rank and padded.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "datasets/dataset.hpp"
#include "datasets/numpy_random.hpp"

namespace hrm {

// The CSR index arrays the sampler walks, and where they came from (for error messages).
struct PuzzleIndex {
  std::span<const std::int64_t> puzzle_indices;  // (puzzles + 1): example offsets
  std::span<const std::int64_t> group_indices;   // (groups + 1): puzzle offsets
  std::string where;
  static PuzzleIndex of(const DatasetSplit& split);
  std::int64_t num_groups() const { return static_cast<std::int64_t>(group_indices.size()) - 1; }
  std::int64_t puzzle_size(std::int64_t p) const { return puzzle_indices[p + 1] - puzzle_indices[p]; }
};

// Where the training sampler's random choices come from.
class SamplerDraws {
 public:
  virtual ~SamplerDraws() = default;
  // Starts iteration `iteration` (1-based, HRM's _iters): its group order is `epochs_per_iter`
  // permutations of [0, num_groups), handed out one entry at a time by next_group().
  virtual void begin_iteration(std::int64_t iteration, std::int64_t num_groups, std::int64_t epochs_per_iter) = 0;
  virtual std::int64_t next_group() = 0;
  virtual std::int64_t pick_puzzle(std::int64_t lo, std::int64_t hi) = 0;  // uniform on [lo, hi)
};

// HRM's draws, bit-exact: rng = Generator(Philox(seed + iteration)); group_order = concatenation of
// rng.permutation(G) epochs_per_iter times; then rng.integers(lo, hi) per group as the walk goes.
// The order is not stored (ARC-1 with eval_interval = epochs would be 96M entries): one copy of the
// rng replays the permutations as the walk reaches them, a second copy, run past all of them when
// the iteration begins, makes the picks.
class PhiloxDraws final : public SamplerDraws {
 public:
  explicit PhiloxDraws(std::int64_t seed) : seed_(seed) {}
  void begin_iteration(std::int64_t iteration, std::int64_t num_groups, std::int64_t epochs_per_iter) override;
  std::int64_t next_group() override;
  std::int64_t pick_puzzle(std::int64_t lo, std::int64_t hi) override { return pick_rng_->integers(lo, hi); }

 private:
  std::int64_t seed_;
  std::optional<NumpyPhilox> order_rng_, pick_rng_;
  std::vector<std::int64_t> permutation_;  // the permutation being walked
  std::size_t next_ = 0;                   // its next entry
};

struct BatchPuzzle {
  std::int64_t group = 0, puzzle = 0;
  std::int64_t rows = 0;  // examples taken: all of the puzzle's, fewer for a batch's last puzzle
};

// One full global batch: B rows, filled by `puzzles` in order.
struct GlobalBatch {
  std::int64_t iteration = 0;       // 1-based
  std::int64_t index = 0;           // 0-based within the iteration
  std::vector<BatchPuzzle> puzzles;
  std::int64_t truncated_rows = 0;  // examples of the last puzzle that did not fit (not carried over)
};

// The sampler's position, all a checkpoint needs: restore() re-draws the iteration and skips the
// batches already taken, so resuming yields the same batches as an uninterrupted run.
struct SamplerState {
  std::int64_t iteration = 0;  // iterations started (HRM's _iters); 0 before the first
  std::int64_t batches = 0;    // full batches already taken from that iteration
};

// HRM's _iter_train as an iterator: start_iteration(), then next_batch() until it returns false.
class TrainSampler {
 public:
  TrainSampler(PuzzleIndex index, std::int64_t global_batch_size, std::int64_t epochs_per_iter, SamplerDraws& draws);

  // Begins the next iteration (one pass of the train loader in HRM's outer loop).
  void start_iteration();
  // Packs the next full batch of the current iteration. False once the group order runs out; the
  // partial batch it was filling is dropped (dropped_rows()).
  bool next_batch(GlobalBatch& out);
  std::int64_t dropped_rows() const { return dropped_rows_; }

  SamplerState state() const { return {iteration_, batches_}; }
  void restore(const SamplerState& s);

 private:
  PuzzleIndex index_;
  std::int64_t batch_size_, epochs_per_iter_;
  SamplerDraws& draws_;
  std::int64_t iteration_ = 0, batches_ = 0;
  std::int64_t cursor_ = 0, order_size_ = 0;  // position in group_order, its length
  std::int64_t dropped_rows_ = 0;
  // Per group: the size its puzzles share (all augmented versions of a task have the same number of
  // examples), or -1. Saves a random read of puzzle_indices per draw, which misses the cache on
  // million-puzzle datasets and dominated the replay's time.
  std::vector<std::int64_t> group_puzzle_size_;
};

// Example rows [row_begin, row_end) of a global batch (rank r of W: [r*b, (r+1)*b), b = B / W).
// Each puzzle's rows are distinct examples in random order, drawn for the whole batch from
// Generator(Philox(SeedSequence([seed, iteration, index]))) by a partial Fisher-Yates
// (random_interval), so every rank sees the same global batch.
struct BatchRows {
  std::vector<std::int64_t> example;  // row of inputs/labels
  std::vector<std::int64_t> puzzle;   // its puzzle (for the identifier)
};
BatchRows batch_rows(const GlobalBatch& batch, const PuzzleIndex& index, std::int64_t seed, std::int64_t row_begin,
                     std::int64_t row_end);

// Test-split iteration: window `index` of B examples in storage order, rank `rank`'s share of it.
struct TestBatch {
  std::int64_t begin = 0, end = 0;              // the global window; end - begin is the batch size HRM reports
  std::int64_t local_begin = 0, local_end = 0;  // this rank's examples (empty when local_end == local_begin)
  std::int64_t pad_rows = 0;                    // rows padded up to the local batch size b
};
std::int64_t test_batch_count(std::int64_t num_examples, std::int64_t global_batch_size);
TestBatch test_batch(std::int64_t num_examples, std::int64_t global_batch_size, std::int64_t world_size,
                     std::int64_t rank, std::int64_t index);
// The puzzle that holds example row `example` (HRM's searchsorted(side="right") - 1).
std::int64_t puzzle_of_example(std::span<const std::int64_t> puzzle_indices, std::int64_t example);

}  // namespace hrm
