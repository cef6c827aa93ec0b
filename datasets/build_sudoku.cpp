// build_sudoku.cpp: Sudoku puzzles (CSV or generated) -> HRM's dataset format (HRM-SPEC 4.2).
#include "datasets/build_sudoku.hpp"

#include <chrono>
#include <cmath>
#include <limits>

#include "common/atomic_write.hpp"
#include "common/error.hpp"
#include "common/progress.hpp"
#include "datasets/dataset.hpp"
#include "datasets/puzzle_csv.hpp"
#include "datasets/sudoku.hpp"

namespace hrm {
namespace {

constexpr double kGeneratedTestFraction = 0.1;  // --generate without a test option

void check_options(const SudokuBuildOptions& o) {
  if (o.out.empty()) throw InputError("--out", "no output folder given");
  if (o.csv.empty() == (o.generate == 0))
    throw InputError("--csv", o.csv.empty() ? "no puzzles: give --csv FILE or --generate N" : "--csv and --generate exclude each other");
  if (o.generate < 0) throw InputError("--generate", fmt::format("{} is negative", o.generate));
  if (o.num_aug < 0) throw InputError("--num-aug", fmt::format("{} is negative", o.num_aug));
  if (!(o.test_fraction >= 0.0 && o.test_fraction < 1.0))
    throw InputError("--test-fraction", fmt::format("{} is not in (0, 1)", o.test_fraction));
  if (!o.test_csv.empty() && o.test_fraction > 0.0)
    throw InputError("--test-fraction", "--test-csv and --test-fraction exclude each other", "give one source for the test split");
  if (o.test_generate < 0) throw InputError("--test-generate", fmt::format("{} is negative", o.test_generate));
  if (o.test_generate > 0 && (o.csv.empty() || !o.test_csv.empty() || o.test_fraction > 0.0))
    throw InputError("--test-generate", "goes with --csv and excludes --test-csv and --test-fraction", "give one source for the test split");
  if (!o.csv.empty() && o.test_csv.empty() && o.test_fraction == 0.0 && o.test_generate == 0)
    throw InputError("--csv", "no test split",
                     "give --test-csv FILE (HRM's recipe: Sudoku-Extreme's test.csv), --test-fraction F to hold out "
                     "a random fraction of the CSV's puzzles, or --test-generate N; train puzzles are never reused as test puzzles");
  if (o.subsample && *o.subsample < 1) throw InputError("--subsample", fmt::format("{} is not a positive count", *o.subsample));
  if (o.subsample && o.generate > 0) throw InputError("--subsample", "does not apply to --generate", "choose the count with --generate N");
}

// HRM's index arrays are int32; checked before any work (a huge --generate would not fit in memory).
void check_example_count(std::int64_t puzzles, std::int64_t num_aug) {
  if (static_cast<double>(puzzles) * static_cast<double>(1 + num_aug) > static_cast<double>(std::numeric_limits<std::int32_t>::max()))
    throw InputError("--num-aug", fmt::format("{} puzzles x (1 + {}) examples exceed HRM's int32 indices", puzzles, num_aug),
                     "lower --num-aug, --subsample or --generate");
}

// HRM keeps rows with int(rating) >= min_difficulty, in both splits.
std::vector<SudokuPuzzle> filter_difficulty(std::vector<SudokuPuzzle> puzzles, const SudokuBuildOptions& o, const std::string& path) {
  if (!o.min_difficulty) return puzzles;
  std::vector<SudokuPuzzle> kept;
  for (auto& p : puzzles) {
    if (!p.rating)
      throw InputError(csv_where(path, p.line), "the rating column is empty", "--min-difficulty needs a rating on every row");
    if (*p.rating >= *o.min_difficulty) kept.push_back(p);
  }
  if (kept.empty())
    throw InputError(path, fmt::format("no puzzle has a rating >= {} (--min-difficulty)", *o.min_difficulty), "lower --min-difficulty");
  return kept;
}

std::vector<SudokuPuzzle> pick(const std::vector<SudokuPuzzle>& all, const std::vector<std::size_t>& rows) {
  std::vector<SudokuPuzzle> out;
  out.reserve(rows.size());
  for (std::size_t i : rows) out.push_back(all[i]);
  return out;
}

void to_tokens(const SudokuGrid& g, std::uint8_t* out) {  // 1 = blank, 2..10 = digits 1..9
  for (std::size_t i = 0; i < 81; ++i) out[i] = static_cast<std::uint8_t>(g[i] + 1);
}

// One group per puzzle: the original, then num_aug shuffled copies drawn from the group's own
// random stream.
SplitWriter make_split(const std::vector<SudokuPuzzle>& puzzles, std::int64_t num_aug, std::uint64_t seed, const char* label) {
  SplitWriter w(81);
  Progress progress(label, static_cast<std::int64_t>(puzzles.size()));
  std::uint8_t in[81], lab[81];
  for (std::size_t g = 0; g < puzzles.size(); ++g) {
    const SudokuPuzzle& p = puzzles[g];
    to_tokens(p.question, in);
    to_tokens(p.answer, lab);
    w.add_example(in, lab);
    w.end_puzzle(0);
    SplitMix64 rng(stream_seed(seed, kStreamAugment, g));
    for (std::int64_t k = 0; k < num_aug; ++k) {
      const SudokuShuffle s = random_sudoku_shuffle(rng);
      to_tokens(apply_sudoku_shuffle(s, p.question), in);
      to_tokens(apply_sudoku_shuffle(s, p.answer), lab);
      w.add_example(in, lab);
      w.end_puzzle(0);
    }
    w.end_group();
    progress.update(static_cast<std::int64_t>(g + 1));
  }
  return w;
}

}  // namespace

BuildSummary build_sudoku(const SudokuBuildOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  check_options(o);

  std::vector<SudokuPuzzle> train, test;
  if (o.generate > 0) {
    check_example_count(o.generate, o.num_aug);
    const double fraction = o.test_fraction > 0.0 ? o.test_fraction : kGeneratedTestFraction;
    const std::int64_t n_test =
        o.test_csv.empty() ? std::max<std::int64_t>(1, std::llround(fraction * static_cast<double>(o.generate))) : 0;
    // Train puzzles are the first N of the seed's sequence, so the test size does not change them.
    std::vector<SudokuPuzzle> all = generate_sudokus(o.generate + n_test, o.seed, o.min_difficulty);
    test.assign(all.begin() + o.generate, all.end());
    all.resize(static_cast<std::size_t>(o.generate));
    train = std::move(all);
  } else {
    std::vector<SudokuPuzzle> rows = filter_difficulty(read_sudoku_csv(o.csv), o, o.csv);
    if (o.test_generate > 0) {
      train = std::move(rows);
      // seed + 1: a generator stream of its own (a repeat of a CSV puzzle is astronomically unlikely).
      test = generate_sudokus(o.test_generate, o.seed + 1, o.min_difficulty);
    } else if (o.test_csv.empty()) {
      SplitMix64 rng(stream_seed(o.seed, kStreamHoldOut));
      const RowSplit split = hold_out_rows(rows.size(), o.test_fraction, rng, o.csv);
      train = pick(rows, split.train);
      test = pick(rows, split.test);
    } else {
      train = std::move(rows);
    }
    if (o.subsample) {
      SplitMix64 rng(stream_seed(o.seed, kStreamSubsample));
      train = pick(train, subsample_rows(train.size(), *o.subsample, rng));
    }
  }
  if (!o.test_csv.empty()) test = filter_difficulty(read_sudoku_csv(o.test_csv), o, o.test_csv);

  check_example_count(static_cast<std::int64_t>(train.size()), o.num_aug);

  DatasetMetadata meta;
  meta.vocab_size = 11;  // PAD + blank + 9 digits
  meta.num_puzzle_identifiers = 1;
  const SplitWriter train_split = make_split(train, o.num_aug, o.seed, "sudoku train");
  const SplitWriter test_split = make_split(test, 0, o.seed, "sudoku test");
  return write_blank_id_dataset(o.out, train_split, test_split, meta, start);
}

}  // namespace hrm
