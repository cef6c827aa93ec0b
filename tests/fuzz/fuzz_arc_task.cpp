// fuzz_arc_task.cpp: an ARC task JSON file (datasets/arc_task.cpp, read_arc_task). An accepted task
// must hold what the reader promises: non-empty train and test lists of grids within 30 x 30 whose
// cells are colours 0-9 and whose size matches h x w.
#include <cstdlib>

#include "datasets/arc_task.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

void check_grid(const hrm::ByteGrid& g) {
  const bool ok = g.h >= 1 && g.w >= 1 && g.h <= hrm::kArcMaxGridSize && g.w <= hrm::kArcMaxGridSize &&
                  g.cells.size() == static_cast<std::size_t>(g.h * g.w);
  if (!ok) std::abort();
  for (auto c : g.cells) if (c > 9) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = hrm_fuzz::write_input("task.json", data, size);
  hrm_fuzz::accept_input_errors([&] {
    const hrm::ArcTask t = hrm::read_arc_task(path);
    if (t.train.empty() || t.test.empty()) std::abort();
    for (const auto* list : {&t.train, &t.test})
      for (const auto& p : *list) { check_grid(p.input); check_grid(p.output); }
  });
  return 0;
}
