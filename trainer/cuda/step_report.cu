// step_report.cu: the CUDA trainer step's report and update gate (step_report.hpp).
#include "trainer/cuda/context.cuh"
#include "trainer/cuda/step_report.hpp"

namespace hrm::cuda {
namespace {

// One thread: the checks the CPU trainer makes before its update, on the values the host reads later.
__global__ void open_gate_kernel(StepReport* r, const ops::ActStepStats* stats, const unsigned* errors) {
  r->stats = *stats;
  const bool finite = isfinite(r->stats.total) && isfinite(r->grad_sq) && isfinite(r->puzzle_grad_sq);
  r->gate = finite && *errors == 0 ? 1 : 0;
}

}  // namespace

StepReporter::StepReporter() {
  CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&device_), sizeof(StepReport)));
  CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&host_), sizeof(StepReport)));
  *host_ = StepReport{};
  start();
}

StepReporter::~StepReporter() {
  cudaFreeHost(host_);  // a destructor must not throw; neither call fails for what its allocator returned
  cudaFree(device_);
}

void StepReporter::start() { CUDA_CHECK(cudaMemsetAsync(device_, 0, sizeof(StepReport), stream())); }

void StepReporter::open_gate(const ops::ActStepStats* stats) {
  open_gate_kernel<<<1, 1, 0, stream()>>>(device_, stats, error_word());
  HRM_CUDA_CHECK_LAUNCH(open_gate_kernel);
}

const StepReport& StepReporter::collect() {
  CUDA_CHECK(cudaMemcpyAsync(&device_->errors, error_word(), sizeof(unsigned), cudaMemcpyDeviceToDevice, stream()));
  CUDA_CHECK(cudaMemcpyAsync(host_, device_, sizeof(StepReport), cudaMemcpyDeviceToHost, stream()));
  CUDA_CHECK(cudaStreamSynchronize(stream()));
  raise_input_errors(host_->errors);
  return *host_;
}

}  // namespace hrm::cuda
