// build_maze.hpp: `hrm data build maze` (HRM-SPEC 4.3): charset "# SGo" -> ids 1..5 (0 = PAD),
// vocab 6, seq_len = side * side (side = sqrt of the question's length), labels = the solved grid.
// One group per maze: 1 puzzle, or with `aug` (train split only) the 8 dihedral transforms as 8
// puzzles; one example per puzzle, identifiers all 0. Given a --test-csv and no subsample, the
// output is byte-identical to HRM's build_maze_dataset.py.
//
// As for Sudoku, the test split comes from --test-csv or from a seeded --test-fraction of the CSV's
// mazes, never from the train mazes; one of the two is required.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "datasets/build_sudoku.hpp"  // BuildSummary

namespace hrm {

struct MazeBuildOptions {
  std::string csv;                        // source,q,a,rating with header; q/a are side*side characters of "# SGo"
  std::string test_csv;                   // test CSV
  double test_fraction = 0.0;             // 0 = not given; else hold out this fraction of the CSV's mazes
  bool aug = false;                       // 8 dihedral versions per train maze, one group
  std::optional<std::int64_t> subsample;  // train only: keep this many random mazes (HRM's subsample_size)
  std::uint64_t seed = 0;                 // for --test-fraction and --subsample
  std::string out;
};

// Reads and checks every row (lengths, characters, and that the solution keeps the question's
// walls, S and G) before anything is written; bad input is an InputError naming file:line.
BuildSummary build_maze(const MazeBuildOptions& o);

}  // namespace hrm
