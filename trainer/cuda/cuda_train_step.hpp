// cuda_train_step.hpp: the CUDA trainer's step (a Trainer's DeviceStep, trainer/loop/trainer.hpp):
// weights, AdamATan2 moments, gradients and the ACT carry live on the device; per step the host
// uploads the batch and the exploration draws, HrmAct<CudaOps, float> runs the ACT step, then
// cuda::adam_atan2_step and cuda::sign_sgd_step update the weights (optimizers.hpp). The host reads
// back the step's ActStepStats, the gradient's and parameters' sums of squares and the puzzle rows
// for the finiteness checks. Evaluation runs on the device weights too (hrm::evaluate_with).
//
// Several ranks (one GPU each, builds with NCCL): the gradient slab is summed over the ranks during
// the backward pass and the puzzle rows gathered in rank order (nccl_exchange.hpp), the step's
// metric sums are reduced over MPI (trainer.hpp's allreduce_stats), and every rank runs the same
// update. The rank's GPU is its local rank. Host C++.
#pragma once

#include <memory>

#include "trainer/loop/trainer.hpp"

namespace hrm::cuda {

// The CUDA step for a model of shape `d` and local batch `batch` on a rank of `world` (the state
// comes with load()). NCCL is used when the world has several ranks, or with `nccl_when_alone` (the
// NCCL path at world size 1, for tests). Several ranks in a build without NCCL are an InputError.
std::unique_ptr<DeviceStep> make_train_step(const HrmDims& d, std::int64_t batch, const World& world,
                                            bool nccl_when_alone = false);

// Was this build made with NCCL (can the CUDA trainer run several ranks)?
bool train_step_has_nccl();

}  // namespace hrm::cuda
