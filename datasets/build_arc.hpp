// build_arc.hpp: `hrm data build arc` (HRM-SPEC 4.4 and 11.2 items 5-12). With seed 42 the output is
// byte-identical to HRM's build_arc_dataset.py on the same folders.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/build_sudoku.hpp"  // BuildSummary

namespace hrm {

struct ArcBuildOptions {
  std::vector<std::string> dirs;  // each DIR's immediate subfolders are read; "evaluation" -> test split
  std::int64_t num_aug = 1000;
  std::uint32_t seed = 42;
  std::string out;
};

BuildSummary build_arc(const ArcBuildOptions& o);

}  // namespace hrm
