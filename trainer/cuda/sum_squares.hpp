// sum_squares.hpp: sum of x^2 over a device array, in float64: sum_squares_into writes it to device
// memory (queued, no synchronisation: the CUDA trainer's gradient norm and finiteness checks, read
// back with its StepReport), sum_squares returns it to the host (synchronises; tests).
// Deterministic: per-block partial sums in a fixed tree, then the partials summed in block order.
// Host C++: includable without nvcc.
#pragma once

#include <cstdint>

namespace hrm::cuda {

void sum_squares_into(double* total, const float* x, std::int64_t n);
double sum_squares(const float* x, std::int64_t n);

}  // namespace hrm::cuda
