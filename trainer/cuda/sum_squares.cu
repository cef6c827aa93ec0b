// sum_squares.cu: sum of x^2 in float64 (sum_squares.hpp). Pass 1: kSumBlocks blocks, each a
// grid-stride sum and a block reduction into one partial; pass 2: one thread adds the partials in
// order. Not the CPU's order (one sequential float64 sum): both are float64 sums of float squares,
// so they agree to about 1e-15 relative, and a NaN or infinity propagates either way.
#include <algorithm>

#include "trainer/cuda/context.cuh"
#include "trainer/cuda/sum_squares.hpp"

namespace hrm::cuda {
namespace {

constexpr int kSumBlocks = 1024;

__global__ void partial_sums_kernel(double* partial, const float* x, i64 n) {
  __shared__ double shared[32];
  double acc = 0;
  for (i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<i64>(gridDim.x) * blockDim.x) {
    const double v = x[i];
    acc += v * v;
  }
  acc = block_reduce(acc, SumOp{}, 0.0, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void total_kernel(double* total, const double* partial, int count) {
  double acc = 0;
  for (int i = 0; i < count; ++i) acc += partial[i];
  *total = acc;
}

}  // namespace

void sum_squares_into(double* total, const float* x, i64 n) {
  if (n == 0) {
    CUDA_CHECK(cudaMemsetAsync(total, 0, sizeof(double), stream()));
    return;
  }
  const int blocks = static_cast<int>(std::min<i64>(kSumBlocks, (n + kThreads - 1) / kThreads));
  Scratch partial(blocks * sizeof(double));
  partial_sums_kernel<<<blocks, kThreads, 0, stream()>>>(partial.as<double>(), x, n);
  HRM_CUDA_CHECK_LAUNCH(partial_sums_kernel);
  total_kernel<<<1, 1, 0, stream()>>>(total, partial.as<double>(), blocks);
  HRM_CUDA_CHECK_LAUNCH(total_kernel);
}

double sum_squares(const float* x, i64 n) {
  Scratch total(sizeof(double));
  sum_squares_into(total.as<double>(), x, n);
  double host = 0;
  CUDA_CHECK(cudaMemcpyAsync(&host, total.as<double>(), sizeof host, cudaMemcpyDeviceToHost, stream()));
  CUDA_CHECK(cudaStreamSynchronize(stream()));
  return host;
}

}  // namespace hrm::cuda
