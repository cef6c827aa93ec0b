// rms_norm.cu: parameter-free RMSNorm over the feature axis (HRM-SPEC 1.5), forward and backward.
//
// Shapes: x, y, dx, dy (n, d); rstd (n).
//   rms_norm_forward:  s = x + residual (residual null: s = x), rstd = 1/sqrt(mean(s^2) + eps),
//                      y = s * rstd                                        (=; rstd null: not saved)
//   rms_norm_backward: dx = rstd * (dy - y * mean(dy * y))                 (=; dx may alias dy)
// One block per row; the row sum is a block reduction in T (HRM sums in the working precision).
// The residual add is fused: s is rounded once per element and recomputed for the scaling pass (the
// row is in L1/L2 then), never written: one read of x and of the residual and one write of y,
// instead of add's three passes and the norm's two.
// 1/sqrt, not rsqrt: sqrt and division are IEEE-rounded (nvcc's defaults), as on the CPU.
#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm {
namespace {

using cuda::i64;

template <class T>
__global__ void rms_norm_forward_kernel(T* y, T* rstd, const T* x, const T* residual, i64 d, T eps) {
  __shared__ T shared[32];
  const T* xr = x + blockIdx.x * d;
  const T* rr = residual ? residual + blockIdx.x * d : nullptr;
  T* yr = y + blockIdx.x * d;
  // __fadd_rn: the sum rounded on its own (as add), never contracted into the square's multiply-add.
  const auto s = [&](i64 j) { return rr ? __fadd_rn(xr[j], rr[j]) : xr[j]; };
  T sq = 0;
  for (i64 j = threadIdx.x; j < d; j += blockDim.x) sq += s(j) * s(j);
  sq = cuda::block_reduce(sq, cuda::SumOp{}, T(0), shared);
  const T r = T(1) / sqrt(sq / static_cast<T>(d) + eps);
  for (i64 j = threadIdx.x; j < d; j += blockDim.x) yr[j] = s(j) * r;
  if (rstd && threadIdx.x == 0) rstd[blockIdx.x] = r;
}

// dx may alias dy: every element is read (for the mean) before the barrier in block_reduce, and
// each is then rewritten by the one thread that reads it.
template <class T> __global__ void rms_norm_backward_kernel(T* dx, const T* dy, const T* y, const T* rstd, i64 d) {
  __shared__ T shared[32];
  const T* dyr = dy + blockIdx.x * d;
  const T* yr = y + blockIdx.x * d;
  T* dxr = dx + blockIdx.x * d;
  T s = 0;
  for (i64 j = threadIdx.x; j < d; j += blockDim.x) s += dyr[j] * yr[j];
  const T m = cuda::block_reduce(s, cuda::SumOp{}, T(0), shared) / static_cast<T>(d);
  const T r = rstd[blockIdx.x];
  for (i64 j = threadIdx.x; j < d; j += blockDim.x) dxr[j] = r * (dyr[j] - yr[j] * m);
}

}  // namespace

template <class T>
void CudaOps::rms_norm_forward(T* y, ops::acc_t<T>* rstd, const T* x, const T* residual, i64 n, i64 d, double eps) {
  if (n == 0) return;
  rms_norm_forward_kernel<<<cuda::grid_for(n, 1), cuda::kRowThreads, 0, cuda::stream()>>>(y, rstd, x, residual, d,
                                                                                          static_cast<T>(eps));
  HRM_CUDA_CHECK_LAUNCH(rms_norm_forward_kernel);
}

template <class T> void CudaOps::rms_norm_backward(T* dx, const T* dy, const T* y, const ops::acc_t<T>* rstd, i64 n, i64 d) {
  if (n == 0) return;
  rms_norm_backward_kernel<<<cuda::grid_for(n, 1), cuda::kRowThreads, 0, cuda::stream()>>>(dx, dy, y, rstd, d);
  HRM_CUDA_CHECK_LAUNCH(rms_norm_backward_kernel);
}

template void CudaOps::rms_norm_forward<float>(float*, float*, const float*, const float*, std::int64_t, std::int64_t,
                                               double);
template void CudaOps::rms_norm_backward<float>(float*, const float*, const float*, const float*, std::int64_t,
                                                std::int64_t);

}  // namespace hrm
