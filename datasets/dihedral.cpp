// dihedral.cpp: each output cell (i, j) reads one input cell; the index formulas follow numpy's
// rot90/fliplr/flipud/.T definitions so results match HRM's dihedral_transform exactly.
#include "datasets/dihedral.hpp"

#include "common/error.hpp"

namespace hrm {

ByteGrid dihedral_transform(const ByteGrid& g, int tid) {
  HRM_CHECK(tid >= 0 && tid < 8, "dihedral id {} is not in 0..7", tid);
  HRM_CHECK(static_cast<std::size_t>(g.h) * static_cast<std::size_t>(g.w) == g.cells.size(),
            "grid {}x{} holds {} cells", g.h, g.w, g.cells.size());
  const int h = g.h, w = g.w;
  const bool swaps = tid == 1 || tid == 3 || tid == 6 || tid == 7;
  ByteGrid out{swaps ? w : h, swaps ? h : w, std::vector<std::uint8_t>(g.cells.size())};
  auto at = [&](int r, int c) { return g.cells[static_cast<std::size_t>(r) * static_cast<std::size_t>(w) + static_cast<std::size_t>(c)]; };
  for (int i = 0; i < out.h; ++i) {
    for (int j = 0; j < out.w; ++j) {
      std::uint8_t v = 0;
      switch (tid) {
        case 0: v = at(i, j); break;
        case 1: v = at(j, w - 1 - i); break;          // rot90 (CCW): out is w x h
        case 2: v = at(h - 1 - i, w - 1 - j); break;
        case 3: v = at(h - 1 - j, i); break;          // rot270 (CW)
        case 4: v = at(i, w - 1 - j); break;
        case 5: v = at(h - 1 - i, j); break;
        case 6: v = at(j, i); break;
        case 7: v = at(h - 1 - j, w - 1 - i); break;  // fliplr(rot90)
      }
      out.cells[static_cast<std::size_t>(i) * static_cast<std::size_t>(out.w) + static_cast<std::size_t>(j)] = v;
    }
  }
  return out;
}

}  // namespace hrm
