// sum_squares.hpp: sum of x^2 over a device array, in float64, returned to the host (synchronises:
// once per step, for the logged gradient norm and the finiteness checks of the CUDA trainer).
// Deterministic: per-block partial sums in a fixed tree, then the partials summed in block order.
// Host C++: includable without nvcc.
#pragma once

#include <cstdint>

namespace hrm::cuda {

double sum_squares(const float* x, std::int64_t n);

}  // namespace hrm::cuda
