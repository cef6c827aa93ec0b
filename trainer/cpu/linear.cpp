// linear.cpp: a bias-free Linear layer, y = x . w^T, with weights stored as PyTorch stores them.
//
// Shapes (row-major): x (n, in), w (out, in), y (n, out).
//   linear_forward:  y  = x w^T                                        (=)
//   linear_backward: dw += dy^T x                                      (+=: one weight, many calls)
//                    dx  = dy w    (+= when accumulate_dx, so a residual gradient can be summed in
//                                   place; skipped when dx is null)
// Every product is a single Eigen GEMM over row-major maps; Eigen parallelises it with OpenMP.
#include <cstdint>

// GCC 12 flags its own _mm*_undefined_* intrinsics, inlined into Eigen's AVX-512 kernels, as
// maybe-uninitialized (GCC bug 105593, fixed in GCC 13); the warning is silenced for Eigen only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop

#include "common/error.hpp"
#include "trainer/cpu/cpu_ops.hpp"

namespace hrm {
namespace {

template <class T> using MatR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T> using MapR = Eigen::Map<MatR<T>>;
template <class T> using CMapR = Eigen::Map<const MatR<T>>;

}  // namespace

template <class T> void CpuOps::linear_forward(T* y, const T* x, const T* w, i64 n, i64 in, i64 out) {
  MapR<T>(y, n, out).noalias() = CMapR<T>(x, n, in) * CMapR<T>(w, out, in).transpose();
}

template <class T>
void CpuOps::linear_backward(T* dx, ops::acc_t<T>* dw, const T* dy, const T* x, const T* w, i64 n, i64 in, i64 out,
                             bool accumulate_dx) {
  HRM_CHECK(dw != nullptr, "linear_backward: dw is required (weight gradients always accumulate)");
  const CMapR<T> dY(dy, n, out);
  MapR<T>(dw, out, in).noalias() += dY.transpose() * CMapR<T>(x, n, in);
  if (dx == nullptr) return;
  MapR<T> dX(dx, n, in);
  if (accumulate_dx)
    dX.noalias() += dY * CMapR<T>(w, out, in);
  else
    dX.noalias() = dY * CMapR<T>(w, out, in);
}

template void CpuOps::linear_forward<float>(float*, const float*, const float*, std::int64_t, std::int64_t,
                                            std::int64_t);
template void CpuOps::linear_forward<double>(double*, const double*, const double*, std::int64_t, std::int64_t,
                                             std::int64_t);
template void CpuOps::linear_backward<float>(float*, float*, const float*, const float*, const float*, std::int64_t,
                                             std::int64_t, std::int64_t, bool);
template void CpuOps::linear_backward<double>(double*, double*, const double*, const double*, const double*,
                                              std::int64_t, std::int64_t, std::int64_t, bool);

}  // namespace hrm
