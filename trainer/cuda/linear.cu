// linear.cu: a bias-free Linear layer on cuBLAS, y = x . w^T, weights stored as PyTorch stores them.
//
// Shapes (row-major): x (n, in), w (out, in), y (n, out).
//   linear_forward:  y  = x w^T      column-major: y^T (out, n) = w^T' x^T with w^T' = (w as col-major)^T
//   linear_backward: dw += dy^T x    column-major: dw^T (in, out) += x^T dy             (+=, beta = 1)
//                    dx  = dy w      column-major: dx^T (in, n) = w^T dy^T   (+= when accumulate_dx;
//                                    skipped when dx is null)
// T = float: fp32 arrays, the multiplication of cuda::gemm_math() (pedantic fp32, TF32 or bf16
// inputs). T = bf16: bf16 x bf16 on the tensor cores, fp32 accumulation; y and dx are rounded to
// bf16 once, dw (acc_t = float) accumulates in fp32 (HRM-SPEC 1.9: fp32 gradients).
// Also gemm (linear.cuh), the strided-batched GEMM the attention shares.
#include <climits>
#include <type_traits>

#include "trainer/cuda/cuda_ops.hpp"
#include "trainer/cuda/linear.cuh"

namespace hrm::cuda {

template <class X> constexpr cudaDataType_t data_type() {
  static_assert(std::is_same_v<X, float> || std::is_same_v<X, bf16>, "gemm: fp32 or bf16 arrays only");
  return std::is_same_v<X, float> ? CUDA_R_32F : CUDA_R_16BF;
}

template <class In, class Out>
void gemm(bool trans_a, bool trans_b, i64 m, i64 n, i64 k, float alpha, const In* A, i64 lda, i64 stride_a,
          const In* B, i64 ldb, i64 stride_b, float beta, Out* C, i64 ldc, i64 stride_c, i64 batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  for (const i64 v : {m, n, k, lda, ldb, ldc, batch})
    HRM_CHECK(v >= 0 && v <= INT_MAX, "gemm: dimension {} is outside cuBLAS's int range", v);
  const cublasComputeType_t compute = std::is_same_v<In, float> ? gemm_compute_type() : CUBLAS_COMPUTE_32F;
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(cublas(), trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(m),
                                          static_cast<int>(n), static_cast<int>(k), &alpha, A, data_type<In>(),
                                          static_cast<int>(lda), stride_a, B, data_type<In>(), static_cast<int>(ldb),
                                          stride_b, &beta, C, data_type<Out>(), static_cast<int>(ldc), stride_c,
                                          static_cast<int>(batch), compute, CUBLAS_GEMM_DEFAULT));
}

#define HRM_GEMM(In, Out)                                                                                          \
  template void gemm<In, Out>(bool, bool, i64, i64, i64, float, const In*, i64, i64, const In*, i64, i64, float, \
                              Out*, i64, i64, i64);
HRM_GEMM(float, float)
HRM_GEMM(bf16, bf16)
HRM_GEMM(bf16, float)
#undef HRM_GEMM

}  // namespace hrm::cuda

namespace hrm {

template <class T> void CudaOps::linear_forward(T* y, const T* x, const T* w, i64 n, i64 in, i64 out) {
  cuda::gemm(true, false, out, n, in, 1.0f, w, in, 0, x, in, 0, 0.0f, y, out, 0, 1);
}

template <class T>
void CudaOps::linear_backward(T* dx, ops::acc_t<T>* dw, const T* dy, const T* x, const T* w, i64 n, i64 in, i64 out,
                              bool accumulate_dx) {
  HRM_CHECK(dw != nullptr, "linear_backward: dw is required (weight gradients always accumulate)");
  cuda::gemm(false, true, in, out, n, 1.0f, x, in, 0, dy, out, 0, 1.0f, dw, in, 0, 1);
  if (dx == nullptr) return;
  cuda::gemm(false, false, in, n, out, 1.0f, w, in, 0, dy, out, 0, accumulate_dx ? 1.0f : 0.0f, dx, in, 0, 1);
}

#define HRM_LINEAR(T)                                                                                             \
  template void CudaOps::linear_forward<T>(T*, const T*, const T*, std::int64_t, std::int64_t, std::int64_t);     \
  template void CudaOps::linear_backward<T>(T*, ops::acc_t<T>*, const T*, const T*, const T*, std::int64_t,       \
                                            std::int64_t, std::int64_t, bool);
HRM_LINEAR(float)
HRM_LINEAR(cuda::bf16)
#undef HRM_LINEAR

}  // namespace hrm
