// sampler.cpp: HRM's _sample_batch / _iter_train packing, its Philox draws, the trainer's example
// choice and the test-split windows (HRM-SPEC 5).
#include "datasets/sampler.hpp"

#include <algorithm>
#include <numeric>

#include "common/error.hpp"

namespace hrm {

PuzzleIndex PuzzleIndex::of(const DatasetSplit& split) {
  return {split.puzzle_indices(), split.group_indices(), split.dir()};
}

void PhiloxDraws::begin_iteration(std::int64_t iteration, std::int64_t num_groups, std::int64_t epochs_per_iter) {
  const std::int64_t seed = seed_ + iteration;
  if (seed < 0)
    throw InputError("train.seed", fmt::format("seed + iteration = {} is negative; NumPy's Philox rejects it", seed),
                     "use a seed >= 0");
  order_rng_.emplace(static_cast<std::uint64_t>(seed));
  // The picks start where all permutations end: run the draws of Fisher-Yates without the swaps.
  // (Drawing from a local copy lets the compiler keep the generator's state in registers.)
  NumpyPhilox rng = *order_rng_;
  for (std::int64_t e = 0; e < epochs_per_iter; ++e)
    for (std::int64_t i = num_groups - 1; i > 0; --i) rng.random_interval(static_cast<std::uint64_t>(i));
  pick_rng_ = rng;
  permutation_.resize(static_cast<std::size_t>(num_groups));
  next_ = permutation_.size();
}

std::int64_t PhiloxDraws::next_group() {
  if (next_ == permutation_.size()) {
    std::iota(permutation_.begin(), permutation_.end(), std::int64_t{0});
    NumpyPhilox rng = *order_rng_;  // a local copy, as above
    rng.shuffle(std::span<std::int64_t>(permutation_));
    order_rng_ = rng;
    next_ = 0;
  }
  return permutation_[next_++];
}

TrainSampler::TrainSampler(PuzzleIndex index, std::int64_t global_batch_size, std::int64_t epochs_per_iter,
                           SamplerDraws& draws)
    : index_(std::move(index)), batch_size_(global_batch_size), epochs_per_iter_(epochs_per_iter), draws_(draws) {
  HRM_CHECK(batch_size_ > 0 && epochs_per_iter_ >= 0, "global_batch_size {} and epochs_per_iter {}", batch_size_,
            epochs_per_iter_);
  // rng.integers(lo, lo) raises in NumPy: HRM cannot sample from a split with an empty group.
  for (std::int64_t g = 0; g < index_.num_groups(); ++g) {
    const std::int64_t first = index_.group_indices[g], end = index_.group_indices[g + 1];
    if (first == end)
      throw InputError(index_.where, fmt::format("group {} has no puzzles; HRM's sampler fails on it", g),
                       "rebuild the dataset");
    std::int64_t size = index_.puzzle_size(first);
    for (std::int64_t p = first + 1; p < end && size >= 0; ++p)
      if (index_.puzzle_size(p) != size) size = -1;
    group_puzzle_size_.push_back(size);
  }
  order_size_ = index_.num_groups() * epochs_per_iter_;
}

void TrainSampler::start_iteration() {
  ++iteration_;
  batches_ = 0;
  cursor_ = 0;
  dropped_rows_ = 0;
  draws_.begin_iteration(iteration_, index_.num_groups(), epochs_per_iter_);
}

bool TrainSampler::next_batch(GlobalBatch& out) {
  if (iteration_ == 0 || cursor_ >= order_size_) return false;
  out.iteration = iteration_;
  out.index = batches_;
  out.puzzles.clear();
  out.truncated_rows = 0;
  std::int64_t filled = 0;
  while (cursor_ < order_size_ && filled < batch_size_) {
    const std::int64_t g = draws_.next_group();
    const std::int64_t p = draws_.pick_puzzle(index_.group_indices[g], index_.group_indices[g + 1]);
    ++cursor_;
    const std::int64_t shared = group_puzzle_size_[static_cast<std::size_t>(g)];
    const std::int64_t size = shared >= 0 ? shared : index_.puzzle_size(p);
    const std::int64_t rows = std::min(size, batch_size_ - filled);
    out.puzzles.push_back({g, p, rows});
    out.truncated_rows = size - rows;
    filled += rows;
  }
  if (filled < batch_size_) {  // drop-last; the walk is over for this iteration
    dropped_rows_ = filled;
    cursor_ = order_size_;
    return false;
  }
  ++batches_;
  return true;
}

void TrainSampler::restore(const SamplerState& s) {
  HRM_CHECK(s.iteration >= 0 && s.batches >= 0, "sampler state ({}, {})", s.iteration, s.batches);
  iteration_ = 0;
  batches_ = 0;
  cursor_ = order_size_;  // nothing to take before start_iteration()
  if (s.iteration == 0) return;
  iteration_ = s.iteration - 1;
  start_iteration();
  GlobalBatch skipped;
  while (batches_ < s.batches)
    if (!next_batch(skipped))
      throw InputError("sampler state", fmt::format("iteration {} has {} batches, not {}", s.iteration, batches_, s.batches),
                       "the checkpoint belongs to another dataset or batch size");
}

BatchRows batch_rows(const GlobalBatch& batch, const PuzzleIndex& index, std::int64_t seed, std::int64_t row_begin,
                     std::int64_t row_end) {
  std::vector<std::uint32_t> entropy;
  for (std::int64_t v : {seed, batch.iteration, batch.index}) {
    const auto w = seed_sequence_words(static_cast<std::uint64_t>(v));
    entropy.insert(entropy.end(), w.begin(), w.end());
  }
  NumpyPhilox rng{std::span<const std::uint32_t>(entropy)};
  BatchRows out;
  std::vector<std::int64_t> order;
  std::int64_t row = 0;
  for (const auto& bp : batch.puzzles) {
    if (row >= row_end) break;  // later puzzles cannot shift the draws of earlier ones
    const std::int64_t first = index.puzzle_indices[bp.puzzle], n = index.puzzle_size(bp.puzzle);
    order.resize(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), first);
    for (std::int64_t i = 0; i < bp.rows; ++i, ++row) {
      const auto j = i + static_cast<std::int64_t>(rng.random_interval(static_cast<std::uint64_t>(n - 1 - i)));
      std::swap(order[i], order[j]);
      if (row >= row_begin && row < row_end) {
        out.example.push_back(order[i]);
        out.puzzle.push_back(bp.puzzle);
      }
    }
  }
  return out;
}

std::int64_t test_batch_count(std::int64_t num_examples, std::int64_t global_batch_size) {
  return (num_examples + global_batch_size - 1) / global_batch_size;
}

TestBatch test_batch(std::int64_t num_examples, std::int64_t global_batch_size, std::int64_t world_size,
                     std::int64_t rank, std::int64_t index) {
  HRM_CHECK(global_batch_size > 0 && world_size > 0 && rank >= 0 && rank < world_size, "B {} W {} rank {}",
            global_batch_size, world_size, rank);
  const std::int64_t b = global_batch_size / world_size;
  TestBatch t;
  t.begin = index * global_batch_size;
  t.end = std::min(num_examples, t.begin + global_batch_size);
  t.local_begin = t.begin + rank * b;
  // HRM slices [local_begin, min(begin + (rank+1)*b, end)): empty for ranks past the window's end.
  t.local_end = std::max(t.local_begin, std::min(t.begin + (rank + 1) * b, t.end));
  t.pad_rows = b - (t.local_end - t.local_begin);
  return t;
}

std::int64_t puzzle_of_example(std::span<const std::int64_t> puzzle_indices, std::int64_t example) {
  return std::upper_bound(puzzle_indices.begin(), puzzle_indices.end(), example) - puzzle_indices.begin() - 1;
}

}  // namespace hrm
