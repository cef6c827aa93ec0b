// elementwise.cpp: y = a + b over `count` elements (residual sums, input injection).
//
// Shapes: y, a, b (count), flat.  y = a + b (=); y may alias a or b (each element is read before
// it is written, and only by the thread that writes it).
// One rounding per element, identical on Eigen's scalar (unaligned head/tail) and packet paths, so
// the result does not depend on where the buffers lie.
#include <algorithm>
#include <cstdint>

// GCC 12 flags its own _mm*_undefined_* intrinsics, inlined into Eigen's AVX-512 kernels, as
// maybe-uninitialized (GCC bug 105593, fixed in GCC 13); the warning is silenced for Eigen only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop

#include "trainer/cpu/cpu_ops.hpp"

namespace hrm {
namespace {

template <class T> using Vec = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T> using CVec = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Memory-bound: a chunk is large enough to amortise the scheduling and stays within L2.
constexpr std::int64_t kChunk = 1 << 15;

}  // namespace

template <class T> void CpuOps::add(T* y, const T* a, const T* b, i64 count) {
#pragma omp parallel for schedule(static) if (count >= 2 * kChunk)
  for (i64 c = 0; c < count; c += kChunk) {
    const i64 len = std::min(kChunk, count - c);
    Vec<T>(y + c, len) = CVec<T>(a + c, len) + CVec<T>(b + c, len);
  }
}

template void CpuOps::add<float>(float*, const float*, const float*, std::int64_t);
template void CpuOps::add<double>(double*, const double*, const double*, std::int64_t);

}  // namespace hrm
