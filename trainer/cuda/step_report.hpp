// step_report.hpp: what a CUDA training step tells the host, read back in one copy at its end, so
// that the step synchronises once (cuda_train_step.cpp).
//
// The checks the CPU trainer makes between the backward and the update (input errors, a finite loss,
// a finite gradient: trainer/loop/numeric_check.hpp) are made on the device instead: the gate is open
// when the step's loss and its gradients' sums of squares are finite and no kernel set an error bit,
// and the optimizer kernels do nothing through a closed gate. The host then reads the report and,
// for a failed check, downloads the tensor to name its first bad element; the weights are as they
// were before the step, as on the CPU. Host C++: includable without nvcc.
#pragma once

#include <cstdint>

#include "trainer/ops/ops.hpp"

namespace hrm::cuda {

struct StepReport {
  ops::ActStepStats stats;         // this rank's step, before any reduction over the ranks
  double grad_sq = 0;              // sum of squares of the (all-reduced) gradient slab
  double puzzle_grad_sq = 0;       // ... of the puzzle rows' gradients the update reads (0 without)
  double param_sq = 0;             // ... of the fp32 weights after the update
  double puzzle_param_sq = 0;      // ... of the updated puzzle rows (0 without)
  std::int32_t gate = 0;           // 1: the update ran
  unsigned errors = 0;             // the device error word when the step ended (bits: context.cuh)
};

class StepReporter {
 public:
  StepReporter();  // the device report and its pinned host copy
  ~StepReporter();
  StepReporter(const StepReporter&) = delete;
  StepReporter& operator=(const StepReporter&) = delete;

  // Device addresses of the sums, for sum_squares_into.
  double* grad_sq() { return &device_->grad_sq; }
  double* puzzle_grad_sq() { return &device_->puzzle_grad_sq; }
  double* param_sq() { return &device_->param_sq; }
  double* puzzle_param_sq() { return &device_->puzzle_param_sq; }
  // The gate the optimizer kernels read (device memory).
  const std::int32_t* gate() const { return &device_->gate; }

  // Queued: the sums start at 0 (a step without puzzle rows leaves theirs so).
  void start();
  // Queued: takes the step's stats (device) and opens or closes the gate from them, the gradient sums
  // and the error word. Call after the gradient sums are queued, before the update.
  void open_gate(const ops::ActStepStats* stats);
  // Copies the report to the host and waits for the stream (the step's one synchronisation); throws
  // hrm::Error naming the input checks a kernel failed (clearing the error word), as
  // CudaOps::check_errors does. The result stays valid until the next call.
  const StepReport& collect();

 private:
  StepReport* device_ = nullptr;  // cudaMalloc
  StepReport* host_ = nullptr;    // cudaMallocHost: the copy is asynchronous, one wait reads it
};

}  // namespace hrm::cuda
