// rms_norm.cpp: parameter-free RMSNorm over the feature axis (HRM-SPEC 1.5), forward and backward.
//
// Shapes: x, y, dx, dy (n, d); rstd (n).
//   rms_norm_forward:  s = x + residual (residual null: s = x), rstd = 1/sqrt(mean(s^2) + eps),
//                      y = s * rstd                                        (=; rstd null: not saved)
//   rms_norm_backward: dx = rstd * (dy - y * mean(dy * y))                 (=; dx may alias dy)
// The backward needs only y and rstd, so the pre-norm sum s is never stored: each element of it is
// rounded once and recomputed where it is used (the same bits as add followed by the norm).
// Row sums use a summation order fixed by d alone (ordered_sum), never by the buffer's address:
// Eigen's reductions start at the first aligned element, so their rounding would change with
// where a vector happens to be allocated, and a resumed run would not be bit-identical.
#include <cmath>
#include <cstdint>

#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/cpu/kernel_common.hpp"

namespace hrm {

namespace {

using i64 = std::int64_t;

template <class T, class Row> void rms_rows(T* y, T* rstd, i64 n, i64 d, double eps, Row row) {
  const T teps = static_cast<T>(eps);  // HRM adds eps in the working precision
  const T td = static_cast<T>(d);
#pragma omp parallel for schedule(static) if (n * d >= kElementwiseParallelMin)
  for (i64 i = 0; i < n; ++i) {
    const auto s = [&](i64 j) { return row(i * d + j); };
    T* yr = y + i * d;
    const T r = T(1) / std::sqrt(ordered_sum<T>(d, [&](i64 j) { return s(j) * s(j); }) / td + teps);
    for (i64 j = 0; j < d; ++j) yr[j] = s(j) * r;
    if (rstd) rstd[i] = r;
  }
}

}  // namespace

template <class T>
void CpuOps::rms_norm_forward(T* y, ops::acc_t<T>* rstd, const T* x, const T* residual, i64 n, i64 d, double eps) {
  if (residual)
    rms_rows(y, rstd, n, d, eps, [=](i64 k) -> T { return x[k] + residual[k]; });
  else
    rms_rows(y, rstd, n, d, eps, [=](i64 k) -> T { return x[k]; });
}

template <class T>
void CpuOps::rms_norm_backward(T* dx, const T* dy, const T* y, const ops::acc_t<T>* rstd, i64 n, i64 d) {
  const T td = static_cast<T>(d);
#pragma omp parallel for schedule(static) if (n * d >= kElementwiseParallelMin)
  for (i64 i = 0; i < n; ++i) {
    const T* dyr = dy + i * d;
    const T* yr = y + i * d;
    T* dxr = dx + i * d;
    // The mean is taken before dx is written, and the update is element by element, so dx == dy is safe.
    const T m = ordered_sum<T>(d, [&](i64 j) { return dyr[j] * yr[j]; }) / td;
    const T r = rstd[i];
    for (i64 j = 0; j < d; ++j) dxr[j] = r * (dyr[j] - yr[j] * m);
  }
}

template void CpuOps::rms_norm_forward<float>(float*, float*, const float*, const float*, std::int64_t, std::int64_t,
                                              double);
template void CpuOps::rms_norm_forward<double>(double*, double*, const double*, const double*, std::int64_t,
                                               std::int64_t, double);
template void CpuOps::rms_norm_backward<float>(float*, const float*, const float*, const float*, std::int64_t,
                                               std::int64_t);
template void CpuOps::rms_norm_backward<double>(double*, const double*, const double*, const double*, std::int64_t,
                                                std::int64_t);

}  // namespace hrm
