// nccl_exchange.hpp: what a data-parallel CUDA training step exchanges between the GPU ranks
// (HRM-SPEC 3.2, 3.4), on NCCL (trainer/dist/nccl_comm.hpp). Host C++; built only with NCCL.
//
//  - The dense gradient slab, summed part by part while the backward pass still runs: slab_hook()
//    is HrmModel::backward's GradsReady hook; each part, once queued on the compute stream
//    (cuda::stream()), is summed by an ncclAllReduce on a separate non-blocking communication stream
//    that first waits for an event recorded at that point of the compute stream. The compute stream
//    goes on with the rest of the backward meanwhile.
//  - The sparse puzzle-embedding rows: every rank's ids (b) and gradients (b x ndim) gathered in rank
//    order, i.e. the global batch's slot order (gather_rows()), so every rank runs the same sign-SGD.
//  - join(): the compute stream waits for everything posted (the host does not); wait(): the host
//    waits for the communication stream within HRM_DIST_TIMEOUT_S (a dead peer is a DistError, never
//    a hang), at the step's end, before it waits for the compute stream; finish(): both.
// The parts, their order and NCCL's algorithm are the same every step, so every rank ends a step with
// identical weights. Constructing one selects this rank's GPU (local rank): it must come before any
// other CUDA work of the process.
#pragma once

#include <cstdint>
#include <string>

#include <cuda_runtime_api.h>

#include "trainer/cuda/device_buffer.hpp"
#include "trainer/dist/nccl_comm.hpp"
#include "trainer/model/hrm_model.hpp"

namespace hrm::cuda {

class NcclExchange {
 public:
  // `rows` puzzle rows of `ndim` values per rank and step (ndim 0: no puzzle embedding).
  NcclExchange(const World& w, std::int64_t rows, std::int64_t ndim);
  ~NcclExchange();
  NcclExchange(const NcclExchange&) = delete;
  NcclExchange& operator=(const NcclExchange&) = delete;

  int size() const { return comm_.size(); }

  // The hook that sums each finished part of `slab` over the ranks (in place).
  GradsReady slab_hook(float* slab);
  // Every rank's ids and gradient rows, in rank order, into all_ids() / all_grads() (size() x rows),
  // after the work queued so far on the compute stream.
  void gather_rows(const std::int32_t* ids, const float* grads);
  // The compute stream waits for every exchange posted so far.
  void join();
  // The host waits for every exchange posted (bounded); `what` names them in the error.
  void wait(const std::string& what);
  void finish(const std::string& what) {
    join();
    wait(what);
  }

  const std::int32_t* all_ids() const { return all_ids_.data(); }
  const float* all_grads() const { return all_grads_.data(); }
  std::int64_t all_rows() const { return rows_ * comm_.size(); }

 private:
  NcclComm comm_;  // first: selects the device the buffers, stream and events below live on
  std::int64_t rows_, ndim_;
  cudaStream_t comm_stream_ = nullptr;
  cudaEvent_t queued_ = nullptr, posted_ = nullptr;
  DeviceBuffer<std::int32_t> all_ids_;
  DeviceBuffer<float> all_grads_;

  // The communication stream waits for the work queued on the compute stream so far.
  void follow_compute();
};

}  // namespace hrm::cuda
