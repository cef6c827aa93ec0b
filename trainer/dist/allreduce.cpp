// allreduce.cpp: MPI collectives of data-parallel training (bucketed all-reduce, row all-gather,
// gathers to rank 0, identity check), each with a bounded wait.
#include "trainer/dist/allreduce.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "common/error.hpp"

#ifdef HRM_HAVE_MPI
#include "trainer/dist/mpi_check.hpp"
#endif

namespace hrm {

double dist_timeout_s() {
  static const double t = [] {
    const char* v = std::getenv("HRM_DIST_TIMEOUT_S");
    if (!v || !*v) return 600.0;
    char* end = nullptr;
    const double x = std::strtod(v, &end);
    if (end == v || *end || !(x > 0))
      throw InputError("environment variable HRM_DIST_TIMEOUT_S", fmt::format("'{}' is not a positive number of seconds", v));
    return x;
  }();
  return t;
}

#ifdef HRM_HAVE_MPI

namespace dist_detail {

void wait_all(std::vector<MPI_Request>& requests, const std::string& what) {
  const auto start = std::chrono::steady_clock::now();
  const double limit = dist_timeout_s();
  for (std::int64_t spin = 0;; ++spin) {
    int done = 0;
    MPI_CHECK(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE));
    if (done) return;
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited > limit)
      throw DistError(fmt::format("{} on {} did not complete within {:.0f} s: another rank stopped or died. "
                                  "hint: see the other ranks' errors; HRM_DIST_TIMEOUT_S sets the limit",
                                  what, error_origin(), limit));
    // Spin briefly (a step's collectives usually finish within microseconds of each other), then
    // yield the core to the rank's own threads.
    if (spin > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

}  // namespace dist_detail

namespace {

using dist_detail::wait_all;

std::int64_t bucket_size(std::int64_t requested) {
  if (const char* v = std::getenv("HRM_ALLREDUCE_BUCKET_FLOATS"); v && *v) {
    char* end = nullptr;
    const long long x = std::strtoll(v, &end, 10);
    if (end == v || *end || x <= 0)
      throw InputError("environment variable HRM_ALLREDUCE_BUCKET_FLOATS", fmt::format("'{}' is not a positive integer", v));
    return x;
  }
  return requested;
}

// MPI counts are int: split anything larger into chunks (and buckets are far smaller anyway).
constexpr std::int64_t kMaxCount = std::int64_t{1} << 30;

template <class T> MPI_Datatype mpi_type();
template <> MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <> MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }
template <> MPI_Datatype mpi_type<std::int32_t>() { return MPI_INT32_T; }
template <> MPI_Datatype mpi_type<std::uint8_t>() { return MPI_UINT8_T; }

// Posts the in-place sums of data[0, n) in buckets of `bucket` values from data (the caller waits).
template <class T> void post_buckets(std::vector<MPI_Request>& req, T* data, std::int64_t n, std::int64_t bucket) {
  bucket = std::min(bucket, kMaxCount);
  for (std::int64_t off = 0; off < n; off += bucket) {
    MPI_Request r;
    MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, data + off, static_cast<int>(std::min(bucket, n - off)), mpi_type<T>(),
                             MPI_SUM, MPI_COMM_WORLD, &r));
    req.push_back(r);
  }
}

std::vector<int> displacements(const std::vector<int>& counts) {
  std::vector<int> d(counts.size(), 0);
  for (std::size_t i = 1; i < counts.size(); ++i) d[i] = d[i - 1] + counts[i - 1];
  return d;
}

}  // namespace

void allreduce_sum(const World& w, double* data, std::int64_t n) {
  if (w.size() == 1 || n == 0) return;
  std::vector<MPI_Request> req;
  post_buckets(req, data, n, kMaxCount);
  wait_all(req, fmt::format("all-reduce of the metrics ({} values)", n));
}

void allgather_rows(const World& w, const std::int32_t* ids, const float* grads, std::int64_t rows, std::int64_t ndim,
                    std::vector<std::int32_t>& all_ids, std::vector<float>& all_grads) {
  const std::int64_t W = w.size();
  all_ids.resize(static_cast<std::size_t>(W * rows));
  all_grads.resize(static_cast<std::size_t>(W * rows * ndim));
  if (W == 1) {
    std::copy_n(ids, rows, all_ids.begin());
    std::copy_n(grads, rows * ndim, all_grads.begin());
    return;
  }
  HRM_CHECK(rows * ndim * W < kMaxCount, "puzzle rows too large for one all-gather: {} x {} x {}", W, rows, ndim);
  MPI_Request r[2];
  MPI_CHECK(MPI_Iallgather(ids, static_cast<int>(rows), MPI_INT32_T, all_ids.data(), static_cast<int>(rows), MPI_INT32_T,
                           MPI_COMM_WORLD, &r[0]));
  MPI_CHECK(MPI_Iallgather(grads, static_cast<int>(rows * ndim), MPI_FLOAT, all_grads.data(), static_cast<int>(rows * ndim),
                           MPI_FLOAT, MPI_COMM_WORLD, &r[1]));
  std::vector<MPI_Request> req(r, r + 2);
  wait_all(req, "all-gather of the puzzle-embedding rows");
}

template <class T> void gather_to_root(const World& w, const std::vector<T>& local, std::vector<T>& out) {
  out.clear();
  if (w.size() == 1) {
    out = local;
    return;
  }
  HRM_CHECK(local.size() < static_cast<std::size_t>(kMaxCount), "gather of {} values from one rank", local.size());
  const int n = static_cast<int>(local.size());
  std::vector<int> counts(w.is_root() ? static_cast<std::size_t>(w.size()) : 0);
  std::vector<MPI_Request> req(1);
  MPI_CHECK(MPI_Igather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD, &req[0]));
  wait_all(req, "gather of the per-rank sizes");
  std::vector<int> displ;
  if (w.is_root()) {
    displ = displacements(counts);
    out.resize(static_cast<std::size_t>(displ.back()) + static_cast<std::size_t>(counts.back()));
  }
  MPI_CHECK(MPI_Igatherv(local.data(), n, mpi_type<T>(), out.data(), counts.data(), displ.data(), mpi_type<T>(), 0,
                         MPI_COMM_WORLD, &req[0]));
  wait_all(req, "gather to rank 0");
}

void check_identical(const World& w, std::uint64_t value, const std::string& what) {
  if (w.size() == 1) return;
  unsigned long long v[2] = {value, ~value}, r[2] = {0, 0};  // max(v) == min(v) <=> all equal
  std::vector<MPI_Request> req(1);
  MPI_CHECK(MPI_Iallreduce(v, r, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD, &req[0]));
  wait_all(req, "identity check of " + what);
  if (r[0] != value || ~r[1] != value)
    throw DistError(fmt::format("{} differs between ranks (this is {}): the ranks' weights diverged; a bug in hrmkit or a "
                                "rank with different inputs. hint: every rank must read the same dataset and config",
                                what, error_origin()));
}

void broadcast_bytes(const World& w, void* data, std::size_t bytes, int root, const std::string& what) {
  if (w.size() == 1) return;
  HRM_CHECK(bytes < static_cast<std::size_t>(kMaxCount), "broadcast of {} bytes", bytes);
  std::vector<MPI_Request> req(1);
  MPI_CHECK(MPI_Ibcast(data, static_cast<int>(bytes), MPI_BYTE, root, MPI_COMM_WORLD, &req[0]));
  wait_all(req, "broadcast of " + what);
}

#else  // a build without MPI: only a world of one exists

void allreduce_sum(const World&, double*, std::int64_t) {}

void allgather_rows(const World&, const std::int32_t* ids, const float* grads, std::int64_t rows, std::int64_t ndim,
                    std::vector<std::int32_t>& all_ids, std::vector<float>& all_grads) {
  all_ids.assign(ids, ids + rows);
  all_grads.assign(grads, grads + rows * ndim);
}

template <class T> void gather_to_root(const World&, const std::vector<T>& local, std::vector<T>& out) { out = local; }

void check_identical(const World&, std::uint64_t, const std::string&) {}

void broadcast_bytes(const World&, void*, std::size_t, int, const std::string&) {}

#endif

struct SlabAllreduce::Requests {
#ifdef HRM_HAVE_MPI
  std::vector<MPI_Request> in_flight;
#endif
};

SlabAllreduce::SlabAllreduce(const World& w, float* data, std::int64_t n, std::int64_t bucket_floats)
    : world_(w), data_(data), n_(n), bucket_(bucket_floats), requests_(std::make_unique<Requests>()) {
#ifdef HRM_HAVE_MPI
  bucket_ = bucket_size(bucket_floats);
#endif
}

SlabAllreduce::~SlabAllreduce() = default;

void SlabAllreduce::start(std::int64_t begin, std::int64_t end) {
  HRM_CHECK(0 <= begin && begin <= end && end <= n_, "slab part [{}, {}) outside [0, {})", begin, end, n_);
  started_ += end - begin;
#ifdef HRM_HAVE_MPI
  if (world_.size() > 1) post_buckets(requests_->in_flight, data_ + begin, end - begin, bucket_);
#endif
}

void SlabAllreduce::progress() {
#ifdef HRM_HAVE_MPI
  std::vector<MPI_Request>& req = requests_->in_flight;
  int done = 0;
  if (!req.empty()) MPI_CHECK(MPI_Testall(static_cast<int>(req.size()), req.data(), &done, MPI_STATUSES_IGNORE));
#endif
}

void SlabAllreduce::wait() {
  HRM_CHECK(started_ == n_, "the slab's parts summed to {} of its {} values", started_, n_);
  started_ = 0;
#ifdef HRM_HAVE_MPI
  std::vector<MPI_Request>& req = requests_->in_flight;
  if (!req.empty())
    wait_all(req, fmt::format("all-reduce of the gradient slab ({} values, {} bucket(s))", n_, req.size()));
  req.clear();
#endif
}

void allreduce_sum(const World& w, float* data, std::int64_t n, std::int64_t bucket_floats) {
  SlabAllreduce s(w, data, n, bucket_floats);
  s.start(0, n);
  s.wait();
}

template void gather_to_root<float>(const World&, const std::vector<float>&, std::vector<float>&);
template void gather_to_root<std::int32_t>(const World&, const std::vector<std::int32_t>&, std::vector<std::int32_t>&);
template void gather_to_root<std::uint8_t>(const World&, const std::vector<std::uint8_t>&, std::vector<std::uint8_t>&);

}  // namespace hrm
