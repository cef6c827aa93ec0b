// bias.cu: the Q head's bias (HRM-SPEC 1.8), forward and backward, on the device:
//   bias_add:      y(rows, cols) += bias(cols), one thread per element;
//   bias_backward: dbias(cols) += the rows of dy in row order, one thread per column (cols = 2 for
//                  the Q head, rows = the batch), so the sums are the CPU loop's, bit for bit.
// fp32 arithmetic (bf16 arrays: one rounding per y; dbias is acc_t, fp32).
#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm {
namespace {

using cuda::i64;

template <class T> __global__ void bias_add_kernel(T* y, const T* bias, i64 cols, i64 count) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) y[i] = cuda::from_f32<T>(cuda::to_f32(y[i]) + cuda::to_f32(bias[i % cols]));
}

template <class T> __global__ void bias_backward_kernel(float* dbias, const T* dy, i64 rows, i64 cols) {
  const i64 c = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float acc = dbias[c];
  for (i64 r = 0; r < rows; ++r) acc += cuda::to_f32(dy[r * cols + c]);
  dbias[c] = acc;
}

}  // namespace

template <class T> void CudaOps::bias_add(T* y, const T* bias, i64 rows, i64 cols) {
  const i64 count = rows * cols;
  if (count == 0) return;
  bias_add_kernel<<<cuda::grid_for(count), cuda::kThreads, 0, cuda::stream()>>>(y, bias, cols, count);
  HRM_CUDA_CHECK_LAUNCH(bias_add_kernel);
}

template <class T> void CudaOps::bias_backward(ops::acc_t<T>* dbias, const T* dy, i64 rows, i64 cols) {
  if (cols == 0) return;
  bias_backward_kernel<<<cuda::grid_for(cols, cuda::kRowThreads), cuda::kRowThreads, 0, cuda::stream()>>>(dbias, dy,
                                                                                                         rows, cols);
  HRM_CUDA_CHECK_LAUNCH(bias_backward_kernel);
}

#define HRM_BIAS(T)                                                                 \
  template void CudaOps::bias_add<T>(T*, const T*, std::int64_t, std::int64_t); \
  template void CudaOps::bias_backward<T>(float*, const T*, std::int64_t, std::int64_t);
HRM_BIAS(float)
HRM_BIAS(cuda::bf16)
#undef HRM_BIAS

}  // namespace hrm
