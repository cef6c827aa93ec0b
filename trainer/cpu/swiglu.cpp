// swiglu.cpp: the SwiGLU gate, h = silu(g) * u with [g | u] = gu (HRM-SPEC 1.5).
//
// Shapes: gu, dgu (n, 2*inter), each row [gate | up]; h, dh (n, inter).
//   swiglu_forward:  h = silu(g) * u, silu(g) = g / (1 + exp(-g))                        (=)
//   swiglu_backward: dg = dh * u * sigmoid(g) * (1 + g * (1 - sigmoid(g))),
//                    du = dh * silu(g)                                                   (=)
// exp(-g) overflows to +inf for very negative g, giving silu = -0 and sigmoid = 0, never NaN.
// exp(-g) is evaluated on an aligned scratch row padded to whole packets, so every element goes
// through Eigen's packet exp: on an unaligned Map the head and tail would take std::exp, which
// rounds differently, and results would depend on where the buffers were allocated (a resumed run
// must be bit-identical). The rest is plain element-wise loops, which the compiler vectorises.
#include <cstdint>

// GCC 12 flags its own _mm*_undefined_* intrinsics, inlined into Eigen's AVX-512 kernels, as
// maybe-uninitialized (GCC bug 105593, fixed in GCC 13); the warning is silenced for Eigen only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop

#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/cpu/kernel_common.hpp"

namespace hrm {
namespace {

template <class T> using Row = Eigen::Array<T, Eigen::Dynamic, 1>;

constexpr std::int64_t kPad = 16;               // whole packets of the widest vector unit

// e[0..inter) = exp(-g[0..inter)); e is a per-thread row of inter rounded up to kPad elements.
template <class T> void exp_neg(Row<T>& e, const T* g, std::int64_t inter) {
  for (std::int64_t j = 0; j < inter; ++j) e[j] = -g[j];
  e = e.exp();
}

}  // namespace

template <class T> void CpuOps::swiglu_forward(T* h, const T* gu, i64 n, i64 inter) {
#pragma omp parallel if (n * inter >= kElementwiseParallelMin)
  {
    Row<T> e = Row<T>::Zero((inter + kPad - 1) / kPad * kPad);
#pragma omp for schedule(static)
    for (i64 i = 0; i < n; ++i) {
      const T* g = gu + i * 2 * inter;
      const T* u = g + inter;
      T* hr = h + i * inter;
      exp_neg(e, g, inter);
      for (i64 j = 0; j < inter; ++j) hr[j] = g[j] / (T(1) + e[j]) * u[j];
    }
  }
}

template <class T> void CpuOps::swiglu_backward(T* dgu, const T* dh, const T* gu, i64 n, i64 inter) {
#pragma omp parallel if (n * inter >= kElementwiseParallelMin)
  {
    Row<T> e = Row<T>::Zero((inter + kPad - 1) / kPad * kPad);
#pragma omp for schedule(static)
    for (i64 i = 0; i < n; ++i) {
      const T* g = gu + i * 2 * inter;
      const T* u = g + inter;
      const T* d = dh + i * inter;
      T* dg = dgu + i * 2 * inter;
      T* du = dg + inter;
      exp_neg(e, g, inter);
      for (i64 j = 0; j < inter; ++j) {
        const T sig = T(1) / (T(1) + e[j]);
        dg[j] = d[j] * u[j] * sig * (T(1) + g[j] * (T(1) - sig));
        du[j] = d[j] * g[j] * sig;
      }
    }
  }
}

template void CpuOps::swiglu_forward<float>(float*, const float*, std::int64_t, std::int64_t);
template void CpuOps::swiglu_forward<double>(double*, const double*, std::int64_t, std::int64_t);
template void CpuOps::swiglu_backward<float>(float*, const float*, const float*, std::int64_t, std::int64_t);
template void CpuOps::swiglu_backward<double>(double*, const double*, const double*, std::int64_t, std::int64_t);

}  // namespace hrm
