// rng.hpp: random draws that reproduce NumPy's, so seeded builds match HRM's scripts byte for byte.
//
// NumpyLegacyRng = np.random.seed(s) / RandomState(MT19937): the global RNG HRM's ARC builder uses.
// bounded(m) is uniform on 0..m by masked rejection on 32-bit words; m == 0 consumes no draw
// (HRM-SPEC 11.2 item 7).
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace hrm {

class NumpyLegacyRng {
 public:
  explicit NumpyLegacyRng(std::uint32_t seed) : mt_(seed) {}
  std::uint32_t next_u32() { return static_cast<std::uint32_t>(mt_()); }
  std::uint64_t bounded(std::uint64_t m);                     // uniform on [0, m]
  std::int64_t randint(std::int64_t lo, std::int64_t hi) {    // np.random.randint(lo, hi): [lo, hi)
    return lo + static_cast<std::int64_t>(bounded(static_cast<std::uint64_t>(hi - lo - 1)));
  }
  template <class T> void shuffle(std::vector<T>& v) {        // np.random.shuffle
    for (std::size_t i = v.size(); i-- > 1;) std::swap(v[i], v[bounded(i)]);
  }
  std::vector<std::int64_t> permutation(std::int64_t n);      // np.random.permutation(n)

 private:
  std::mt19937 mt_;
};

}  // namespace hrm
