// adam_atan2.cpp: AdamATan2 (HRM-SPEC 3.1, 11.1 item 6) for float and double parameters.
//
// Reproducibility does not depend on -ffp-contract (GCC fuses a*b + c in C++ even with -std=c++20;
// its ISO-mode "off" covers C only): every multiply-add of the kernel is an explicit std::fma, and
// each remaining product feeds an fma operand (g*g as a multiplicand, p*wd_alpha as the addend),
// where no compiler can fuse it further. The one host-side multiply-add, 1 - lr*wd, rounds its
// product first (HRM's host code runs on x86-64 without fma contraction).
#include "trainer/loop/adam_atan2.hpp"

#include <cmath>
#include <type_traits>

#include "common/error.hpp"

namespace hrm {
namespace {

// Below this many elements the threads cost more than they save.
constexpr std::int64_t kAdamParallelMin = std::int64_t{1} << 16;

// `volatile` forces the product to be rounded to double on its own, so `1 - rounded_product(lr, wd)`
// cannot become fma(-lr, wd, 1) under -ffp-contract=fast.
double rounded_product(double a, double b) {
  volatile double p = a * b;
  return p;
}

// atan2 of floats through double: the float result is the correctly rounded one (glibc's atan2f
// misses it for ~8% of inputs), it does not depend on the libm's float code, and a NumPy/Python
// emulation reproduces it exactly with math.atan2.
inline float atan2_t(float y, float x) {
  return static_cast<float>(std::atan2(static_cast<double>(y), static_cast<double>(x)));
}
inline double atan2_t(double y, double x) { return std::atan2(y, x); }

}  // namespace

template <class T>
AdamAtan2Scalars<T> adam_atan2_scalars(std::int64_t step, double lr, double beta1, double beta2, double weight_decay) {
  HRM_CHECK(step >= 1, "AdamATan2 step counts from 1, got {}", step);
  // HRM keeps the step counter in an fp32 tensor; the float form reads it through float.
  const double t = std::is_same_v<T, float> ? static_cast<double>(static_cast<float>(step)) : static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(beta1, t);
  const double bc2 = 1.0 - std::pow(beta2, t);
  return AdamAtan2Scalars<T>{static_cast<T>(lr / bc1), static_cast<T>(1.0 - rounded_product(lr, weight_decay)),
                             static_cast<T>(std::sqrt(bc2)), static_cast<T>(1.0 - beta1), static_cast<T>(1.0 - beta2)};
}

template <class T>
void adam_atan2_step(T* p, const T* g, T* m, T* v, std::int64_t n, std::int64_t step, double lr, double beta1,
                     double beta2, double weight_decay) {
  const AdamAtan2Scalars<T> s = adam_atan2_scalars<T>(step, lr, beta1, beta2, weight_decay);
  const T step_size = s.step_size, wd_alpha = s.wd_alpha, bc2_sqrt = s.bc2_sqrt, t1 = s.mbeta1, t2 = s.mbeta2;
  // Elementwise, so the result is the same for any thread count. atan2 has no vector form without
  // -ffast-math (whose libmvec versions are less accurate), so the loop is threaded, not simd.
#pragma omp parallel for schedule(static) if (n >= kAdamParallelMin)
  for (std::int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    // lerp(m, g, 1-beta1) = fma(w, g, fma(-w, m, m)), as the CUDA kernel evaluates it
    const T mi = std::fma(t1, gi, std::fma(-t1, m[i], m[i]));
    const T gg = gi * gi;
    const T vi = std::fma(t2, gg, std::fma(-t2, v[i], v[i]));
    m[i] = mi;
    v[i] = vi;
    const T denom = std::sqrt(vi) / bc2_sqrt;
    p[i] = std::fma(-step_size, atan2_t(mi, denom), p[i] * wd_alpha);
  }
}

template AdamAtan2Scalars<float> adam_atan2_scalars<float>(std::int64_t, double, double, double, double);
template AdamAtan2Scalars<double> adam_atan2_scalars<double>(std::int64_t, double, double, double, double);
template void adam_atan2_step<float>(float*, const float*, float*, float*, std::int64_t, std::int64_t, double, double,
                                     double, double);
template void adam_atan2_step<double>(double*, const double*, double*, double*, std::int64_t, std::int64_t, double,
                                      double, double, double);

}  // namespace hrm
