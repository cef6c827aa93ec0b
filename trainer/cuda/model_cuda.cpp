// model_cuda.cpp: the model templates compiled once for the CUDA backend, float (host code: the
// model only calls CudaOps, whose kernels are in the .cu files).
#include "trainer/cuda/cuda_ops.hpp"
#include "trainer/model/act.hpp"

namespace hrm {
template class HrmModel<CudaOps, float>;
template class HrmAct<CudaOps, float>;
}  // namespace hrm
