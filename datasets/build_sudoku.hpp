// build_sudoku.hpp: `hrm data build sudoku` (HRM-SPEC 4.2), plus a generator and solver so a user
// without a download still gets real puzzles.
//
// Output: HRM's format (HRM-SPEC 4.1), one group per original puzzle holding the original and then
// its num_aug augmented copies, one example per puzzle, identifiers all 0. Without augmentation and
// subsampling the files are byte-identical to HRM's build_sudoku_dataset.py; with augmentation the
// arrays are uint8 where HRM writes int64 (HRM-SPEC 11.2 item 3: same values, 8x smaller).
//
// The test split is never empty and never made from train puzzles (that would measure memorising):
//  - --csv: one of --test-csv FILE (as HRM: its test.csv) or --test-fraction F (a seeded random
//    round(F * rows) of the CSV rows, after --min-difficulty) is required;
//  - --csv with --test-generate N: N generated puzzles (unique solution each) as the test split,
//    for a CSV that has no test companion (the shipped 1k train subsample);
//  - --generate N: N train puzzles plus round(N * F) generated test puzzles (F = --test-fraction,
//    0.1 when not given), or the puzzles of --test-csv.
// Test puzzles are never augmented or subsampled. Every random choice (hold-out, subsample,
// augmentation, generation) follows from --seed alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hrm {

struct SudokuBuildOptions {
  std::string csv;                        // train CSV: source,q,a,rating with header (HRM's format)
  std::string test_csv;                   // test CSV
  double test_fraction = 0.0;             // 0 = not given; else in (0, 1), see above
  std::optional<std::int64_t> subsample;  // train only, after min_difficulty (as HRM); CSV only
  std::optional<std::int64_t> min_difficulty;  // keep rating >= value, both splits; generated
                                               // puzzles are rated by the solver's guesses
  std::int64_t num_aug = 0;               // augmented copies per train puzzle
  std::int64_t generate = 0;              // > 0: generate this many puzzles instead of reading a CSV
  std::int64_t test_generate = 0;         // > 0 with --csv: generate this many test puzzles
  std::uint64_t seed = 0;
  std::string out;
};

struct BuildSummary {
  std::string out;
  std::int64_t train_examples = 0, train_groups = 0, test_examples = 0, test_groups = 0;
  double seconds = 0.0;
};

// Reads and checks every input row before anything is written; the dataset appears whole at `out`
// or not at all. Bad input is an InputError naming file:line.
BuildSummary build_sudoku(const SudokuBuildOptions& o);

}  // namespace hrm
