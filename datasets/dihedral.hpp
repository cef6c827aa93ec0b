// dihedral.hpp: the 8 symmetries of a grid, numbered as HRM's dataset/common.py dihedral_transform
// (HRM-SPEC 4.4): 0 identity, 1 rot90 (np.rot90 k=1, counter-clockwise), 2 rot180, 3 rot270,
// 4 fliplr, 5 flipud, 6 transpose, 7 fliplr(rot90) (anti-diagonal reflection). Grids are h x w,
// row-major; ids 1, 3, 6 and 7 swap h and w. Used by the Maze builder (and open to the ARC one).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace hrm {

struct ByteGrid {
  int h = 0, w = 0;
  std::vector<std::uint8_t> cells;  // h * w, row-major
};

// dihedral_transform(g, kDihedralInverse[t]) undoes dihedral_transform(g, t).
inline constexpr std::array<int, 8> kDihedralInverse{0, 3, 2, 1, 4, 5, 6, 7};

// The transformed grid, cell for cell what numpy returns for HRM's dihedral_transform(arr, tid).
ByteGrid dihedral_transform(const ByteGrid& g, int tid);

}  // namespace hrm
