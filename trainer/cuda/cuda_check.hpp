// cuda_check.hpp: CUDA_CHECK and CUBLAS_CHECK, the CUDA members of the one error family
// (common/error.hpp). A failed call throws hrm::Error naming the call, file:line and the runtime's
// own description of the status ("cudaMalloc(&p, bytes) failed (trainer/cuda/x.cu:12): out of memory").
// Kernel launches are checked with CUDA_CHECK(cudaGetLastError()), which does not synchronise.
// no_device_reason() is how the CLI and the tests tell that no device answers.
#pragma once

#include <cstdint>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "common/error.hpp"

namespace hrm::cuda {

// Throws hrm::Error("CALL failed (file:line): DETAIL").
[[noreturn]] void call_failed(const char* call, const char* file, int line, const std::string& detail);
// cuBLAS's status name and description ("CUBLAS_STATUS_INVALID_VALUE: an invalid value...").
std::string cublas_status_text(cublasStatus_t status);
// "" when a CUDA device answers, else why not ("cudaGetDeviceCount: no CUDA-capable device is
// detected", "cudaGetDeviceCount: 0 devices"). Creates no context.
std::string no_device_reason();
// The global memory of CUDA device `device` in bytes (0 when it does not answer). Creates no context.
std::int64_t device_memory_bytes(int device);

}  // namespace hrm::cuda

#define CUDA_CHECK(call)                                                                           \
  do {                                                                                             \
    const cudaError_t hrm_cuda_status_ = (call);                                                   \
    if (hrm_cuda_status_ != cudaSuccess)                                                           \
      ::hrm::cuda::call_failed(#call, __FILE__, __LINE__, cudaGetErrorString(hrm_cuda_status_));   \
  } while (0)

#define CUBLAS_CHECK(call)                                                                          \
  do {                                                                                              \
    const cublasStatus_t hrm_cublas_status_ = (call);                                               \
    if (hrm_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                                \
      ::hrm::cuda::call_failed(#call, __FILE__, __LINE__,                                           \
                               ::hrm::cuda::cublas_status_text(hrm_cublas_status_));                \
  } while (0)
