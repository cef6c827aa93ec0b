// build_arc.hpp: `hrm data build arc` (HRM-SPEC 4.4 and 11.2 items 5-12). With seed 42 the output is
// byte-identical to HRM's build_arc_dataset.py on the same folders (with HRM's listings sorted and
// its splits taken train then test: the two portability fixes of HRM-SPEC 11.2 items 5-6).
//
// Every task file is read and checked (datasets/arc_task.hpp) before anything is written; the
// dataset appears whole at `out` or not at all. Errors are InputErrors naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "datasets/build_sudoku.hpp"  // BuildSummary

namespace hrm {

struct ArcBuildOptions {
  std::vector<std::string> dirs;  // each DIR's immediate subfolders are read; "evaluation" -> test split
  std::int64_t num_aug = 1000;
  std::uint32_t seed = 42;
  std::string out;
};

struct ArcBuildSummary : BuildSummary {
  std::int64_t identifiers = 0;  // num_puzzle_identifiers, "<blank>" included
  // Tasks that ended with fewer than 1 + num_aug versions (few colours or symmetric grids; HRM
  // prints "augmentation not full" for them): name and number of versions, original included.
  std::vector<std::pair<std::string, std::int64_t>> incomplete;
};

ArcBuildSummary build_arc(const ArcBuildOptions& o);

}  // namespace hrm
