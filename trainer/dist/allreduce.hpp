// allreduce.hpp: the collectives of data-parallel training on CPU ranks (MPI), HRM-SPEC 3.2, 3.4, 5.2.
//
//  - allreduce_sum(float): the dense gradient slab, summed in place (= on every rank). Split into
//    fixed buckets at fixed offsets, one MPI_Iallreduce each, all in flight at once: the buckets are
//    a function of the slab size only, so the reduction (and its rounding) is the same every step,
//    every run and on every rank (ranks must end a step with identical weights).
//  - SlabAllreduce: the same sum started part by part while the backward pass still runs (the
//    parts of HrmModel::backward's GradsReady hook), each part in buckets at fixed offsets from its
//    start, waited for once at the end; allreduce_sum(float) is one part, the whole slab.
//  - allreduce_sum(double): step and evaluation metric sums (so the logged values are the global ones).
//  - allgather_rows: the sparse puzzle-embedding rows, ids (b) and gradients (b x ndim) of every rank
//    in rank order, i.e. the global batch's slot order; every rank then runs the same sign-SGD update.
//  - gather_to_root: variable-length per-rank vectors concatenated in rank order on rank 0 (the ACT
//    carry for a checkpoint, evaluation predictions); empty on the other ranks.
//  - check_identical: every rank holds the same 64-bit value (a weights checksum), else DistError.
//  - broadcast_bytes: rank `root`'s bytes on every rank (the NCCL unique id, trainer/dist/nccl_comm).
// A world of one does nothing (the data is already the global data). Every function is collective:
// all ranks call it in the same order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trainer/dist/world.hpp"

namespace hrm {

// 4 Mi floats = 16 MiB per bucket: big enough to reach link bandwidth, small enough to keep several
// in flight.
// HRM_DIST_TIMEOUT_S (seconds, default 600): how long a collective (MPI or NCCL) may wait for the
// other ranks before it fails with DistError.
double dist_timeout_s();

inline constexpr std::int64_t kAllreduceBucketFloats = std::int64_t{1} << 22;

void allreduce_sum(const World& w, float* data, std::int64_t n, std::int64_t bucket_floats = kAllreduceBucketFloats);

void allreduce_sum(const World& w, double* data, std::int64_t n);

// Sums the float slab data[0, n) over the ranks, part by part: start(begin, end) posts the
// non-blocking reductions of [begin, end) (a part must not be written again until wait()); wait()
// completes them all and checks that the parts covered the slab exactly once. Every rank must start
// the same parts in the same order. progress() lets MPI advance the posted reductions (OpenMPI
// moves non-blocking collectives only inside MPI calls). A world of one does nothing.
class SlabAllreduce {
 public:
  SlabAllreduce(const World& w, float* data, std::int64_t n, std::int64_t bucket_floats = kAllreduceBucketFloats);
  ~SlabAllreduce();
  SlabAllreduce(const SlabAllreduce&) = delete;
  SlabAllreduce& operator=(const SlabAllreduce&) = delete;
  void start(std::int64_t begin, std::int64_t end);
  void progress();
  void wait();

 private:
  struct Requests;  // the MPI requests in flight (mpi.h stays out of this header)
  const World& world_;
  float* data_;
  std::int64_t n_, bucket_, started_ = 0;
  std::unique_ptr<Requests> requests_;
};

void allgather_rows(const World& w, const std::int32_t* ids, const float* grads, std::int64_t rows, std::int64_t ndim,
                    std::vector<std::int32_t>& all_ids, std::vector<float>& all_grads);

template <class T> void gather_to_root(const World& w, const std::vector<T>& local, std::vector<T>& out);

void check_identical(const World& w, std::uint64_t value, const std::string& what);

void broadcast_bytes(const World& w, void* data, std::size_t bytes, int root, const std::string& what);

}  // namespace hrm
