// kernel_common.hpp: what the Eigen kernels of trainer/cpu share (internal, not the op contract):
// the size below which an OpenMP team costs more than it saves, and the address-independent sum.
#pragma once

#include <cstdint>

namespace hrm {

// Elements of elementwise work below which a parallel region costs more than the work it splits.
inline constexpr std::int64_t kElementwiseParallelMin = 1 << 14;

// sum of f(0..len-1) in an order fixed by len alone, never by the buffer's address: 16 lane sums
// over whole blocks (one vector register; the compiler vectorises the lane loop without
// reassociating anything), the lanes in order, then the tail. Eigen's reductions start at the first
// aligned element instead, so their rounding would change with where a vector happens to be
// allocated, and a resumed run would not be bit-identical.
template <class T, class F> T ordered_sum(std::int64_t len, F&& f) {
  constexpr std::int64_t kLanes = 16;
  T lane[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= len; i += kLanes)
    for (std::int64_t l = 0; l < kLanes; ++l) lane[l] += f(i + l);
  T s = 0;
  for (std::int64_t l = 0; l < kLanes; ++l) s += lane[l];
  for (; i < len; ++i) s += f(i);
  return s;
}

}  // namespace hrm
