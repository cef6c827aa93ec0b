// adam_atan2.hpp: the AdamATan2 optimizer step HRM trains its dense parameters with (HRM-SPEC 3.1,
// bit-exact float form 11.1 item 6): decoupled weight decay scaled by the current lr, Adam moments
// as fma-based lerps, and atan2(m, sqrt(v)/sqrt(1-beta2^t)) in place of m / (sqrt(v) + eps), so no
// epsilon and a step bounded by lr*(pi/2)/(1-beta1^t).
// p, m, v are updated in place (=, not +=); g is read only. All four hold n elements.
#pragma once

#include <cstdint>

namespace hrm {

// The per-step scalars, computed in double from the step counter taken as fp32 (HRM keeps it in an
// fp32 tensor) and, for T = float, each rounded to float as the CUDA kernel receives them.
template <class T>
struct AdamAtan2Scalars {
  T step_size;  // lr / (1 - beta1^t)
  T wd_alpha;   // 1 - lr * weight_decay
  T bc2_sqrt;   // sqrt(1 - beta2^t)
  T mbeta1;     // 1 - beta1
  T mbeta2;     // 1 - beta2
};

template <class T>
AdamAtan2Scalars<T> adam_atan2_scalars(std::int64_t step, double lr, double beta1, double beta2, double weight_decay);

// One optimizer step; `step` is the 1-based step count AFTER incrementing (the first call passes 1).
// T = float reproduces HRM's fp32 kernel bit for bit up to atan2, which is the correctly rounded
// value here (CUDA's atan2f may differ by an ulp); T = double is the same formula in double.
template <class T>
void adam_atan2_step(T* p, const T* g, T* m, T* v, std::int64_t n, std::int64_t step, double lr, double beta1,
                     double beta2, double weight_decay);

extern template AdamAtan2Scalars<float> adam_atan2_scalars<float>(std::int64_t, double, double, double, double);
extern template AdamAtan2Scalars<double> adam_atan2_scalars<double>(std::int64_t, double, double, double, double);
extern template void adam_atan2_step<float>(float*, const float*, float*, float*, std::int64_t, std::int64_t, double,
                                            double, double, double);
extern template void adam_atan2_step<double>(double*, const double*, double*, double*, std::int64_t, std::int64_t,
                                             double, double, double, double);

}  // namespace hrm
