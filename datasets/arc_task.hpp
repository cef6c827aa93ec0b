// arc_task.hpp: one ARC task file (HRM-SPEC 4.4, 11.2 items 8-9), read and strictly validated.
//
// A task is a JSON object with "train" (demonstration pairs) and "test" (query pairs), each a
// non-empty list of {"input": grid, "output": grid}; a grid is a non-empty list of equal-length,
// non-empty rows of integers 0-9, at most 30 x 30. An optional "name" replaces the file stem as
// the task's name. Any other top-level key is an error (HRM fails on it too); other keys inside a
// pair are ignored (HRM never reads them). Names must not contain '_': HRM's evaluator splits
// augmented names on it. Every violation is an InputError naming the file and the JSON position
// ("train[2].input[3][1]").
#pragma once

#include <string>
#include <vector>

#include "datasets/dihedral.hpp"  // ByteGrid

namespace hrm {

inline constexpr int kArcMaxGridSize = 30;

struct ArcPair {
  ByteGrid input, output;
};

struct ArcTask {
  std::string name;
  std::vector<ArcPair> train, test;  // each in file order
  // HRM walks the keys in file order, so where both lists land in one puzzle (every subfolder but
  // `evaluation`) the query pairs come first for files that store "test" before "train".
  bool test_first = false;
};

ArcTask read_arc_task(const std::string& path);

}  // namespace hrm
