// build_sudoku.hpp: `hrm data build sudoku` (HRM-SPEC 4.2), plus a generator and solver so a user
// without a download still gets real puzzles.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hrm {

struct SudokuBuildOptions {
  std::string csv;                        // train CSV: source,q,a,rating with header (HRM's format)
  std::string test_csv;                   // optional test CSV
  double test_fraction = 0.0;             // else: hold out this fraction of the train CSV as test
  std::optional<std::int64_t> subsample;  // train only, after min_difficulty (as HRM)
  std::optional<std::int64_t> min_difficulty;  // keep rating >= value, both splits
  std::int64_t num_aug = 0;               // augmented copies per train puzzle
  std::int64_t generate = 0;              // > 0: generate this many puzzles instead of reading a CSV
  std::uint64_t seed = 0;
  std::string out;
};

struct BuildSummary {
  std::string out;
  std::int64_t train_examples = 0, train_groups = 0, test_examples = 0, test_groups = 0;
  double seconds = 0.0;
};

BuildSummary build_sudoku(const SudokuBuildOptions& o);

}  // namespace hrm
