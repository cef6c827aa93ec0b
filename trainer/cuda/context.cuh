// context.cuh: what every op family of the CUDA backend shares: the stream all work is queued on
// (declared in cuda_ops.hpp), the cuBLAS and cuBLASLt handles, the device-side error word of the
// input checks, launch sizes, the fp32 arithmetic of bf16 storage (to_f32 / from_f32), and
// block-wide reductions (one block per row: RMSNorm, softmax, the token loss).
// The context is created on first use, on the device current at that time, and lives until exit.
#pragma once

#include <cstdint>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "trainer/cuda/bf16.hpp"
#include "trainer/cuda/cuda_check.hpp"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm::cuda {

using i64 = std::int64_t;

// Bits of the device-side error word (CudaOps::check_errors names them).
enum ErrorBit : unsigned {
  kNegativeTokenId = 1u << 0,  // embedding: an input id < 0 (its row is taken as zeros)
  kBadLabel = 1u << 1,         // token loss: a label neither -100 nor in [0, vocab) (taken as ignored)
  kBadPuzzleId = 1u << 2,      // sign-SGD: a puzzle id outside the table (its row is skipped)
  kNegativeRowId = 1u << 3,    // gather_rows: an id < 0 (its row is taken as zeros)
};

cublasHandle_t cublas();      // bound to stream()
cublasComputeType_t gemm_compute_type();  // of gemm_math() (cuda_ops.hpp): what gemm<float, float> multiplies in
cublasLtHandle_t cublas_lt();  // the bf16 GEMMs (bf16.cu)
constexpr std::size_t kLtWorkspaceBytes = std::size_t{32} << 20;  // cuBLASLt's recommendation for Hopper
void* lt_workspace();         // kLtWorkspaceBytes of device memory for cublasLtMatmul on stream()
unsigned* error_word();       // device pointer; kernels atomicOr ErrorBits into it
// Clears the error word and throws hrm::Error naming the set ErrorBits of `bits` (read from it);
// nothing when bits is 0.
void raise_input_errors(unsigned bits);

// Stream-ordered scratch (cudaMallocAsync on stream()): freed when it goes out of scope, after the
// work queued before then. No host synchronisation either way.
class Scratch {
 public:
  explicit Scratch(std::size_t bytes);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class T> T* as() const { return static_cast<T*>(p_); }

 private:
  void* p_ = nullptr;
};

constexpr int kThreads = 256;  // elementwise kernels
constexpr int kRowThreads = 128;  // one block per row (rows of 64..1024 elements)

// Blocks of `threads` covering `count` elements, checked against the grid limit.
unsigned grid_for(i64 count, int threads = kThreads);
// Checks the launch just queued (configuration errors; does not synchronise).
void check_launch(const char* kernel, const char* file, int line);
#define HRM_CUDA_CHECK_LAUNCH(kernel) ::hrm::cuda::check_launch(#kernel, __FILE__, __LINE__)

// --- storage and arithmetic ----------------------------------------------------------------------
// Kernels compute in fp32 whatever the arrays hold (HRM-SPEC 1.9): loads widen with to_f32, stores
// round with from_f32<T> (bf16: to nearest even; float: nothing), so the float instantiations do
// exactly what they did before bf16 existed.

__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(bf16 v) { return __bfloat162float(v); }
template <class T> __device__ __forceinline__ T from_f32(float v);
template <> __device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ bf16 from_f32<bf16>(float v) { return __float2bfloat16_rn(v); }
// v as T would store it, back in fp32 (HRM rounds a residual sum to bf16 before the norm reads it).
template <class T> __device__ __forceinline__ float round_as(float v) { return to_f32(from_f32<T>(v)); }

// --- device-side reductions ---------------------------------------------------------------------

struct SumOp {
  template <class T> __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  template <class T> __device__ T operator()(T a, T b) const { return a > b ? a : b; }
};

template <class T, class Op> __device__ T warp_reduce(T v, Op op) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// The reduction of v over the whole block, returned to every thread. `shared` holds 32 T; blockDim.x
// is a multiple of 32. Ends with a barrier, so `shared` may be reused right away.
template <class T, class Op> __device__ T block_reduce(T v, Op op, T identity, T* shared) {
  const int lane = static_cast<int>(threadIdx.x) & 31, warp = static_cast<int>(threadIdx.x) >> 5;
  const int warps = static_cast<int>(blockDim.x) >> 5;
  v = warp_reduce(v, op);
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = warp_reduce(lane < warps ? shared[lane] : identity, op);
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  v = shared[0];
  __syncthreads();
  return v;
}

}  // namespace hrm::cuda
