// build_maze.hpp: `hrm data build maze` (HRM-SPEC 4.3): charset "# SGo" -> ids 1..5, vocab 6.
#pragma once

#include <cstdint>
#include <string>

#include "datasets/build_sudoku.hpp"  // BuildSummary

namespace hrm {

struct MazeBuildOptions {
  std::string csv;        // source,q,a,rating with header; q/a are side*side characters of "# SGo"
  std::string test_csv;   // optional
  bool aug = false;       // 8 dihedral versions per train maze, one group
  std::string out;
};

BuildSummary build_maze(const MazeBuildOptions& o);

}  // namespace hrm
