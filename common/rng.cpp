// rng.cpp: NumPy RandomState-compatible bounded draws.
#include "common/rng.hpp"

#include <numeric>

namespace hrm {

std::uint64_t NumpyLegacyRng::bounded(std::uint64_t m) {
  if (m == 0) return 0;
  std::uint64_t mask = m;
  for (int s = 1; s < 64; s <<= 1) mask |= mask >> s;
  if (m <= 0xFFFFFFFFULL) {
    std::uint64_t v;
    while ((v = (next_u32() & mask)) > m) {}
    return v;
  }
  std::uint64_t v;
  do {
    const std::uint64_t hi = next_u32(), lo = next_u32();
    v = ((hi << 32) | lo) & mask;
  } while (v > m);
  return v;
}

std::vector<std::int64_t> NumpyLegacyRng::permutation(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  shuffle(v);
  return v;
}

}  // namespace hrm
