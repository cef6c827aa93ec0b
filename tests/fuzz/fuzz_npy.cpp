// fuzz_npy.cpp: the .npy header reader (common/npy.cpp, NpyArray::open). The input is a whole
// .npy file; an accepted array is then read end to end (every element, every row of a 2-D u8
// array) so a shape that disagrees with the mapped bytes shows up as an out-of-bounds read.
#include "common/npy.hpp"
#include "tests/fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = hrm_fuzz::write_input("input.npy", data, size);
  hrm_fuzz::accept_input_errors([&] {
    const hrm::NpyArray a = hrm::NpyArray::open(path);
    std::uint64_t sum = 0;  // unsigned: wraps, as a checksum may (a signed sum overflowed: UB)
    for (std::int64_t i = 0; i < a.size(); ++i) sum += static_cast<std::uint64_t>(a.at(i));
    if (a.dtype() == hrm::DType::U8 && a.shape().size() == 2) {
      std::vector<std::uint8_t> row(static_cast<std::size_t>(a.dim(1)));
      for (std::int64_t r = 0; r < a.dim(0); ++r) a.copy_row_u8(r, row.data());
    }
    const auto all = a.to_int64();
    if (static_cast<std::int64_t>(all.size()) != a.size()) std::abort();
    (void)sum;
  });
  return 0;
}
