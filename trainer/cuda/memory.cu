// memory.cu: the data-moving ops (copy, fill, copy_rows, add_rows, gather_rows, download) on device
// memory. Shapes and = / += rules: trainer/ops/ops.hpp. copy and copy_rows are stream-ordered
// cudaMemcpy(2D)Async; fill, add_rows and gather_rows are one thread per element (one IEEE add each:
// bit-identical to the CPU loops; bf16: the fp32 sum rounded once). gather_rows reads an acc_t table
// (the fp32 puzzle table of a bf16 model) and rounds its rows to T, as HRM casts the gathered rows.
// download is the one op that waits for the host: it copies to host memory after the queued work
// (the end of a step).
#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm {
namespace {

using cuda::i64;
using i32 = std::int32_t;

template <class T> __global__ void fill_kernel(T* dst, T value, i64 count) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) dst[i] = value;
}

template <class T> __global__ void add_rows_kernel(T* dst, i64 ld_dst, const T* src, i64 ld_src, i64 cols, i64 count) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const i64 r = i / cols, c = i % cols;
  dst[r * ld_dst + c] = cuda::from_f32<T>(cuda::to_f32(dst[r * ld_dst + c]) + cuda::to_f32(src[r * ld_src + c]));
}

template <class T>
__global__ void gather_rows_kernel(T* dst, const ops::acc_t<T>* table, const i32* ids, i64 cols, i64 count,
                                   unsigned* errors) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const i64 r = i / cols, c = i % cols;
  const i32 id = ids[r];
  if (id < 0) {
    if (c == 0) atomicOr(errors, cuda::kNegativeRowId);
    dst[i] = cuda::from_f32<T>(0.0f);
    return;
  }
  dst[i] = cuda::from_f32<T>(table[static_cast<i64>(id) * cols + c]);
}

}  // namespace

template <class T> void CudaOps::copy(T* dst, const T* src, i64 count) {
  if (count == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, count * sizeof(T), cudaMemcpyDeviceToDevice, cuda::stream()));
}

template <class T> void CudaOps::fill(T* dst, T value, i64 count) {
  if (count == 0) return;
  fill_kernel<<<cuda::grid_for(count), cuda::kThreads, 0, cuda::stream()>>>(dst, value, count);
  HRM_CUDA_CHECK_LAUNCH(fill_kernel);
}

template <class T> void CudaOps::copy_rows(T* dst, i64 ld_dst, const T* src, i64 ld_src, i64 rows, i64 cols) {
  if (rows == 0 || cols == 0) return;
  CUDA_CHECK(cudaMemcpy2DAsync(dst, ld_dst * sizeof(T), src, ld_src * sizeof(T), cols * sizeof(T), rows,
                               cudaMemcpyDeviceToDevice, cuda::stream()));
}

template <class T> void CudaOps::add_rows(T* dst, i64 ld_dst, const T* src, i64 ld_src, i64 rows, i64 cols) {
  const i64 count = rows * cols;
  if (count == 0) return;
  add_rows_kernel<<<cuda::grid_for(count), cuda::kThreads, 0, cuda::stream()>>>(dst, ld_dst, src, ld_src, cols, count);
  HRM_CUDA_CHECK_LAUNCH(add_rows_kernel);
}

template <class T> void CudaOps::gather_rows(T* dst, const ops::acc_t<T>* table, const i32* ids, i64 rows, i64 cols) {
  const i64 count = rows * cols;
  if (count == 0) return;
  gather_rows_kernel<<<cuda::grid_for(count), cuda::kThreads, 0, cuda::stream()>>>(dst, table, ids, cols, count,
                                                                                 cuda::error_word());
  HRM_CUDA_CHECK_LAUNCH(gather_rows_kernel);
}

template <class T> void CudaOps::download(T* host, const T* src, i64 count) {
  if (count == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(host, src, count * sizeof(T), cudaMemcpyDeviceToHost, cuda::stream()));
  CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
}

template void CudaOps::fill<double>(double*, double, std::int64_t);
#define HRM_MEMORY(T)                                                                                            \
  template void CudaOps::copy<T>(T*, const T*, std::int64_t);                                                   \
  template void CudaOps::fill<T>(T*, T, std::int64_t);                                                          \
  template void CudaOps::copy_rows<T>(T*, std::int64_t, const T*, std::int64_t, std::int64_t, std::int64_t);    \
  template void CudaOps::add_rows<T>(T*, std::int64_t, const T*, std::int64_t, std::int64_t, std::int64_t);     \
  template void CudaOps::gather_rows<T>(T*, const ops::acc_t<T>*, const std::int32_t*, std::int64_t, std::int64_t); \
  template void CudaOps::download<T>(T*, const T*, std::int64_t);
HRM_MEMORY(float)
HRM_MEMORY(cuda::bf16)
#undef HRM_MEMORY
template void CudaOps::download<std::int32_t>(std::int32_t*, const std::int32_t*, std::int64_t);
template void CudaOps::download<ops::SeqLoss>(ops::SeqLoss*, const ops::SeqLoss*, std::int64_t);
template void CudaOps::download<ops::ActStepStats>(ops::ActStepStats*, const ops::ActStepStats*, std::int64_t);

}  // namespace hrm
