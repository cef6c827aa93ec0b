// nccl_comm.hpp: the GPU ranks' collectives (NCCL), one GPU per process (ARCHITECTURE.md section 5).
//
// NcclComm joins the World's ranks into one NCCL communicator: the rank picks GPU `local_rank` of its
// node (cudaSetDevice), rank 0 creates the NCCL unique id and broadcasts it over MPI (World), and every
// rank calls ncclCommInitRank. A world of one needs no MPI. Collectives are enqueued on the caller's
// stream and never synchronise the host; `wait` is the bounded wait of a step's end: it polls the
// stream and NCCL's asynchronous error, and after HRM_DIST_TIMEOUT_S (a peer died or hangs) aborts the
// communicator and throws DistError instead of waiting forever, as the MPI collectives do.
// Built only where CMake finds CUDA and NCCL (target hrm_dist_nccl, HRM_HAVE_NCCL).
#pragma once

#include <cstdint>
#include <string>

#include <cuda_runtime_api.h>

#include "trainer/dist/world.hpp"

namespace hrm {

class NcclComm {
 public:
  // Selects this rank's GPU and creates the communicator over every rank of `w` (collective).
  // No CUDA device, or fewer devices on this node than local ranks, is a DistError with the fix.
  explicit NcclComm(const World& w);
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int device() const { return device_; }
  int size() const { return size_; }

  // In-place sums over the ranks of `n` values in device memory, enqueued on `stream`.
  void allreduce_sum(float* data, std::int64_t n, cudaStream_t stream) const;
  void allreduce_sum(double* data, std::int64_t n, cudaStream_t stream) const;
  // Every rank's `count` values land in rank order in `recv` (size() x count values).
  void allgather(const float* send, float* recv, std::int64_t count, cudaStream_t stream) const;
  void allgather(const std::int32_t* send, std::int32_t* recv, std::int64_t count, cudaStream_t stream) const;

  // Blocks until `stream` has drained, within HRM_DIST_TIMEOUT_S; `what` names the collective.
  void wait(cudaStream_t stream, const std::string& what) const;

 private:
  struct Impl;
  Impl* impl_ = nullptr;  // ncclComm_t stays out of this header: nccl.h is for nccl_comm.cpp only
  int device_ = 0, size_ = 1;
};

// How many CUDA devices this process sees (0 when the driver has none or is absent).
int cuda_device_count();

}  // namespace hrm
