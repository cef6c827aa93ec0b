// context.cu: the CUDA backend's shared state (context.cuh): stream, cuBLAS and cuBLASLt handles,
// the cuBLASLt workspace, error word, stream-ordered scratch, launch checks, CudaOps::check_errors,
// and the device query no_device_reason (cuda_check.hpp).
#include <climits>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "trainer/cuda/context.cuh"
#include "trainer/cuda/cuda_ops.hpp"

namespace hrm::cuda {
namespace {

GemmMath g_gemm_math = GemmMath::fp32;

struct Context {
  cublasHandle_t handle = nullptr;
  cublasLtHandle_t lt = nullptr;
  unsigned* errors = nullptr;
  void* workspace = nullptr;
  Context() {
    // Scratch (cudaMallocAsync) comes from the device's default pool, which by default gives its memory
    // back at every synchronisation (release threshold 0): each step would map the attention scores'
    // gigabytes again. Kept instead, so the pool holds the step's peak scratch from the first step on.
    int device = 0;
    cudaMemPool_t pool = nullptr;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
    std::uint64_t keep = UINT64_MAX;
    CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
    CUDA_CHECK(cudaMalloc(&errors, sizeof(unsigned)));
    CUDA_CHECK(cudaMalloc(&workspace, kLtWorkspaceBytes));
    CUDA_CHECK(cudaMemsetAsync(errors, 0, sizeof(unsigned), stream()));
    CUBLAS_CHECK(cublasCreate(&handle));
    CUBLAS_CHECK(cublasSetStream(handle, stream()));
    CUBLAS_CHECK(cublasLtCreate(&lt));
  }
  // Never destroyed: the driver may already be shutting down when static destructors run.
};

Context* g_context = nullptr;  // created on first use, on the device current then

Context& context() {
  if (!g_context) g_context = new Context();
  return *g_context;
}

}  // namespace

void call_failed(const char* call, const char* file, int line, const std::string& detail) {
  throw Error(fmt::format("{} failed ({}:{}): {}", call, file, line, detail));
}

std::string cublas_status_text(cublasStatus_t status) {
  return fmt::format("{}: {}", cublasGetStatusName(status), cublasGetStatusString(status));
}

std::string no_device_reason() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) return fmt::format("cudaGetDeviceCount: {}", cudaGetErrorString(status));
  if (count == 0) return "cudaGetDeviceCount: 0 devices";
  return "";
}

std::int64_t device_memory_bytes(int device) {
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return 0;
  return static_cast<std::int64_t>(prop.totalGlobalMem);
}

// The legacy default stream: synchronous with plain cudaMemcpy, which keeps tests and the host-side
// copies of setup code simple. A dedicated stream is a one-line change here.
cudaStream_t stream() { return nullptr; }

// Creates no context (a rank selects its GPU first): gemm reads the mode at every call.
void set_gemm_math(GemmMath math) { g_gemm_math = math; }
GemmMath gemm_math() { return g_gemm_math; }
const char* gemm_math_name(GemmMath math) {
  switch (math) {
    case GemmMath::tf32: return "tf32";
    case GemmMath::bf16: return "bf16";
    case GemmMath::fp32: break;
  }
  return "fp32";
}
GemmMath gemm_math_named(const std::string& name) {
  for (const GemmMath m : {GemmMath::fp32, GemmMath::tf32, GemmMath::bf16})
    if (name == gemm_math_name(m)) return m;
  HRM_CHECK(false, "'{}' is not a GEMM mode; expected fp32, tf32 or bf16", name);
}
cublasComputeType_t gemm_compute_type() {
  switch (g_gemm_math) {
    case GemmMath::tf32: return CUBLAS_COMPUTE_32F_FAST_TF32;
    case GemmMath::bf16: return CUBLAS_COMPUTE_32F_FAST_16BF;
    case GemmMath::fp32: break;
  }
  return CUBLAS_COMPUTE_32F_PEDANTIC;
}
cublasHandle_t cublas() { return context().handle; }
cublasLtHandle_t cublas_lt() { return context().lt; }
void* lt_workspace() { return context().workspace; }
unsigned* error_word() { return context().errors; }

Scratch::Scratch(std::size_t bytes) {
  if (bytes > 0) CUDA_CHECK(cudaMallocAsync(&p_, bytes, stream()));
}
Scratch::~Scratch() {
  if (p_) cudaFreeAsync(p_, stream());  // a destructor must not throw; a failure here surfaces at the next check
}

unsigned grid_for(i64 count, int threads) {
  const i64 blocks = (count + threads - 1) / threads;
  HRM_CHECK(blocks <= INT_MAX, "grid of {} blocks exceeds the CUDA limit", blocks);
  return static_cast<unsigned>(blocks > 0 ? blocks : 1);
}

void check_launch(const char* kernel, const char* file, int line) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) call_failed(kernel, file, line, cudaGetErrorString(status));
}

void raise_input_errors(unsigned bits) {
  if (bits == 0) return;
  CUDA_CHECK(cudaMemsetAsync(error_word(), 0, sizeof(unsigned), stream()));
  std::string what;
  if (bits & kNegativeTokenId) what += "embedding: a token id is negative; ";
  if (bits & kBadLabel) what += "token loss: a label is neither -100 nor in [0, vocab); ";
  if (bits & kBadPuzzleId) what += "sign-SGD: a puzzle id is outside the embedding table; ";
  if (bits & kNegativeRowId) what += "gather_rows: a row id is negative; ";
  if (what.empty()) what = fmt::format("error bits {:#x}; ", bits);  // a bit with no name above
  what.resize(what.size() - 2);
  HRM_CHECK(false, "CUDA input checks failed: {}", what);
}

}  // namespace hrm::cuda

namespace hrm {

void CudaOps::check_errors() {
  unsigned bits = 0;
  CUDA_CHECK(cudaMemcpyAsync(&bits, cuda::error_word(), sizeof bits, cudaMemcpyDeviceToHost, cuda::stream()));
  CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
  cuda::raise_input_errors(bits);
}

}  // namespace hrm
