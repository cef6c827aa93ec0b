// cuda_train_step.hpp: the CUDA trainer's step (a Trainer's DeviceStep, trainer/loop/trainer.hpp):
// weights, AdamATan2 moments, gradients and the ACT carry live on the device; per step the host
// uploads the batch and the exploration draws, HrmAct<CudaOps, T> runs the ACT step, then
// cuda::adam_atan2_step and cuda::sign_sgd_step update the weights (optimizers.hpp) through the
// gate of the device-side checks; the host waits once, for the step's StepReport (its ActStepStats,
// the gradient's and parameters' sums of squares, the error word: step_report.hpp). Evaluation runs
// on the device weights too (hrm::evaluate_with).
//
// Several ranks (one GPU each, builds with NCCL): the gradient slab is summed over the ranks during
// the backward pass and the puzzle rows gathered in rank order (nccl_exchange.hpp), the step's
// metric sums are reduced over MPI (trainer.hpp's allreduce_stats), and every rank runs the same
// update. The rank's GPU is its local rank. Host C++.
//
// Storage (T): fp32 (the parity path; the GEMMs multiply as cuda::gemm_math() says) or bf16, HRM's
// own (HRM-SPEC 1.9): activations, carry, H_init / L_init and a working copy of the weights in bf16,
// bf16 GEMMs on the tensor cores with fp32 accumulation; fp32 master weights, moments, gradients
// (the weight-gradient GEMMs write fp32), the puzzle table and the norms', RoPE's and softmax's
// internals. AdamATan2 updates the master and rewrites the bf16 copy in the same pass. Checkpoints
// hold the fp32 master; the carry is widened from bf16 (and rounded again on load).
#pragma once

#include <memory>
#include <string>

#include "trainer/loop/trainer.hpp"

namespace hrm::cuda {

// The CUDA step for a model of shape `d` and local batch `batch` on a rank of `world` (the state
// comes with load()). NCCL is used when the world has several ranks, or with `nccl_when_alone` (the
// NCCL path at world size 1, for tests). Several ranks in a build without NCCL are an InputError.
enum class Storage { fp32, bf16 };
const char* storage_name(Storage s);         // "fp32", "bf16"
Storage storage_named(const std::string& name);  // the inverse; hrm::Error for another name

std::unique_ptr<DeviceStep> make_train_step(const HrmDims& d, std::int64_t batch, const World& world,
                                            Storage storage = Storage::fp32, bool nccl_when_alone = false);

// Was this build made with NCCL (can the CUDA trainer run several ranks)?
bool train_step_has_nccl();

}  // namespace hrm::cuda
