// nccl_exchange.cpp: the GPU ranks' gradient sum and puzzle-row gather on a communication stream
// (nccl_exchange.hpp).
#include "trainer/cuda/nccl_exchange.hpp"

#include "trainer/cuda/cuda_ops.hpp"

namespace hrm::cuda {

NcclExchange::NcclExchange(const World& w, std::int64_t rows, std::int64_t ndim)
    : comm_(w), rows_(rows), ndim_(ndim) {
  // Non-blocking: a stream created plainly would synchronise with the legacy default stream the ops
  // run on, and the sums could not overlap the backward pass.
  CUDA_CHECK(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking));
  CUDA_CHECK(cudaEventCreateWithFlags(&queued_, cudaEventDisableTiming));
  CUDA_CHECK(cudaEventCreateWithFlags(&posted_, cudaEventDisableTiming));
  all_ids_.resize(static_cast<std::size_t>(rows * comm_.size()));
  all_grads_.resize(static_cast<std::size_t>(rows * ndim * comm_.size()));
}

NcclExchange::~NcclExchange() {
  cudaEventDestroy(posted_);
  cudaEventDestroy(queued_);
  cudaStreamDestroy(comm_stream_);
}

void NcclExchange::follow_compute() {
  // cudaStreamWaitEvent waits for the record made just before it, so one event serves every part.
  CUDA_CHECK(cudaEventRecord(queued_, stream()));
  CUDA_CHECK(cudaStreamWaitEvent(comm_stream_, queued_, 0));
}

GradsReady NcclExchange::slab_hook(float* slab) {
  return [this, slab](std::int64_t begin, std::int64_t end) {
    follow_compute();
    comm_.allreduce_sum(slab + begin, end - begin, comm_stream_);
  };
}

void NcclExchange::gather_rows(const std::int32_t* ids, const float* grads) {
  follow_compute();
  comm_.allgather(ids, all_ids_.data(), rows_, comm_stream_);
  if (ndim_ > 0) comm_.allgather(grads, all_grads_.data(), rows_ * ndim_, comm_stream_);
}

void NcclExchange::join() {
  CUDA_CHECK(cudaEventRecord(posted_, comm_stream_));
  CUDA_CHECK(cudaStreamWaitEvent(stream(), posted_, 0));
}

void NcclExchange::wait(const std::string& what) { comm_.wait(comm_stream_, what); }

}  // namespace hrm::cuda
