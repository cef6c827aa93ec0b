// model_cuda.cpp: the model templates compiled once for the CUDA backend, in float (the parity path)
// and in bf16 (HRM's storage, HRM-SPEC 1.9) (host code: the model only calls CudaOps, whose kernels
// are in the .cu files).
#include "trainer/cuda/cuda_ops.hpp"
#include "trainer/model/act.hpp"

namespace hrm {
template class HrmModel<CudaOps, float>;
template class HrmAct<CudaOps, float>;
template class HrmModel<CudaOps, cuda::bf16>;
template class HrmAct<CudaOps, cuda::bf16>;
}  // namespace hrm
