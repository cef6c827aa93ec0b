// cuda_train_step.hpp: the CUDA trainer's step (a Trainer's DeviceStep, trainer/loop/trainer.hpp):
// weights, AdamATan2 moments, gradients and the ACT carry live on the device; per step the host
// uploads the batch and the exploration draws, HrmAct<CudaOps, float> runs the ACT step, then
// cuda::adam_atan2_step and cuda::sign_sgd_step update the weights (optimizers.hpp). The host reads
// back the step's ActStepStats, the gradient's and parameters' sums of squares and the puzzle rows
// (b x ndim) for the finiteness checks. One process (no NCCL all-reduce yet). Host C++.
#pragma once

#include <memory>

#include "trainer/loop/trainer.hpp"

namespace hrm::cuda {

// The CUDA step for a model of shape `d` and local batch `batch` (the state comes with load()).
std::unique_ptr<DeviceStep> make_train_step(const HrmDims& d, std::int64_t batch);

}  // namespace hrm::cuda
