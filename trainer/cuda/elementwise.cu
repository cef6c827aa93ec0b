// elementwise.cu: y = a + b over `count` elements (residual sums, input injection).
//
// Shapes: y, a, b (count), flat.  y = a + b (=); y may alias a or b (each element is read and
// written by one thread). One IEEE rounding per element: bit-identical to the CPU backend (bf16: the
// fp32 sum rounded once to bf16, as torch adds bf16 tensors).
#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm {
namespace {

using cuda::i64;

template <class T> __global__ void add_kernel(T* y, const T* a, const T* b, i64 count) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) y[i] = cuda::from_f32<T>(cuda::to_f32(a[i]) + cuda::to_f32(b[i]));
}

}  // namespace

template <class T> void CudaOps::add(T* y, const T* a, const T* b, i64 count) {
  if (count == 0) return;
  add_kernel<<<cuda::grid_for(count), cuda::kThreads, 0, cuda::stream()>>>(y, a, b, count);
  HRM_CUDA_CHECK_LAUNCH(add_kernel);
}

template void CudaOps::add<float>(float*, const float*, const float*, std::int64_t);
template void CudaOps::add<cuda::bf16>(cuda::bf16*, const cuda::bf16*, const cuda::bf16*, std::int64_t);

}  // namespace hrm
