// nccl_comm.cpp: the NCCL communicator of GPU ranks: device choice, unique-id bootstrap over MPI,
// collectives on the caller's stream, and the bounded wait that aborts a communicator whose peer died.
#include "trainer/dist/nccl_comm.hpp"

#include <nccl.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "common/error.hpp"
#include "trainer/dist/allreduce.hpp"

#define NCCL_CHECK(call)                                                                              \
  do {                                                                                                \
    const ncclResult_t hrm_nccl_rc_ = (call);                                                         \
    if (hrm_nccl_rc_ != ncclSuccess)                                                                  \
      ::hrm::dist_call_failed(#call, __FILE__, __LINE__, ncclGetErrorString(hrm_nccl_rc_));           \
  } while (0)

namespace hrm {

struct NcclComm::Impl {
  ncclComm_t comm = nullptr;
};

namespace {

// NCCL counts are size_t; the slabs we reduce are far below any limit, but a negative count is a bug.
std::size_t count_of(std::int64_t n) {
  HRM_CHECK(n >= 0, "NCCL collective of {} values", n);
  return static_cast<std::size_t>(n);
}

// The CUDA devices this process sees; 0, with the reason in `why`, when there are none.
int device_count(std::string& why) {
  int n = 0;
  const cudaError_t rc = cudaGetDeviceCount(&n);
  if (rc != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no driver" / "no device" error
    why = cudaGetErrorString(rc);
    return 0;
  }
  if (n == 0) why = "the driver reports 0 devices";
  return n;
}

}  // namespace

int cuda_device_count() {
  std::string why;
  return device_count(why);
}

NcclComm::NcclComm(const World& w) : impl_(new Impl), size_(w.size()) {
  try {
    std::string why;
    const int count = device_count(why);
    if (count == 0)
      throw DistError(fmt::format("NCCL on {}: no CUDA device ({}). hint: run on a GPU node, or train on CPU ranks "
                                  "(hrm train --device cpu)",
                                  w.origin(), why));
    if (w.local_rank() >= count)
      throw DistError(fmt::format("NCCL on {}: local rank {} but this node has {} CUDA device(s). hint: start at most {} "
                                  "rank(s) per node (mpirun --map-by ppr:{}:node, srun --ntasks-per-node={})",
                                  w.origin(), w.local_rank(), count, count, count, count));
    device_ = w.local_rank();
    if (const cudaError_t rc = cudaSetDevice(device_); rc != cudaSuccess)
      dist_call_failed("cudaSetDevice", __FILE__, __LINE__, cudaGetErrorString(rc));
    ncclUniqueId id{};
    if (w.is_root()) NCCL_CHECK(ncclGetUniqueId(&id));
    broadcast_bytes(w, &id, sizeof id, 0, "the NCCL unique id");
    NCCL_CHECK(ncclCommInitRank(&impl_->comm, w.size(), id, w.rank()));
  } catch (...) {
    delete impl_;
    throw;
  }
}

NcclComm::~NcclComm() {
  if (impl_->comm) ncclCommDestroy(impl_->comm);
  delete impl_;
}

void NcclComm::allreduce_sum(float* data, std::int64_t n, cudaStream_t stream) const {
  NCCL_CHECK(ncclAllReduce(data, data, count_of(n), ncclFloat32, ncclSum, impl_->comm, stream));
}

void NcclComm::allreduce_sum(double* data, std::int64_t n, cudaStream_t stream) const {
  NCCL_CHECK(ncclAllReduce(data, data, count_of(n), ncclFloat64, ncclSum, impl_->comm, stream));
}

void NcclComm::allgather(const float* send, float* recv, std::int64_t count, cudaStream_t stream) const {
  NCCL_CHECK(ncclAllGather(send, recv, count_of(count), ncclFloat32, impl_->comm, stream));
}

void NcclComm::allgather(const std::int32_t* send, std::int32_t* recv, std::int64_t count, cudaStream_t stream) const {
  NCCL_CHECK(ncclAllGather(send, recv, count_of(count), ncclInt32, impl_->comm, stream));
}

void NcclComm::wait(cudaStream_t stream, const std::string& what) const {
  const auto start = std::chrono::steady_clock::now();
  const double limit = dist_timeout_s();
  for (std::int64_t spin = 0;; ++spin) {
    const cudaError_t q = cudaStreamQuery(stream);
    if (q == cudaSuccess) return;
    if (q != cudaErrorNotReady) dist_call_failed("cudaStreamQuery", __FILE__, __LINE__, cudaGetErrorString(q));
    ncclResult_t async = ncclSuccess;
    NCCL_CHECK(ncclCommGetAsyncError(impl_->comm, &async));
    if (async != ncclSuccess) {
      ncclCommAbort(impl_->comm);
      impl_->comm = nullptr;
      throw DistError(fmt::format("{} on {} failed: {}", what, error_origin(), ncclGetErrorString(async)));
    }
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited > limit) {
      ncclCommAbort(impl_->comm);  // unblocks the kernels stuck waiting on a dead peer
      impl_->comm = nullptr;
      throw DistError(fmt::format("{} on {} did not complete within {:.0f} s: another rank stopped or died. "
                                  "hint: see the other ranks' errors; HRM_DIST_TIMEOUT_S sets the limit",
                                  what, error_origin(), limit));
    }
    if (spin > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

}  // namespace hrm
