// bench_allreduce.cpp: all-reduce bandwidth over message sizes, as nccl-tests' all_reduce_perf
// reports it, through the collectives hrm train itself uses: `--backend mpi` times
// hrm::allreduce_sum (trainer/dist/allreduce: bucketed MPI_Iallreduce of CPU ranks), `--backend nccl`
// times hrm::NcclComm::allreduce_sum on each rank's GPU (only in builds with CUDA and NCCL).
//
// Start it with the launcher, one process per rank: `mpirun -np 2 bench_allreduce --backend mpi`.
// Per size: --warmup in-place sums, then --iters timed ones (wall clock, the last one waited for);
// the time is the mean over ranks (as nccl-tests). algbw = bytes / time; busbw = algbw x 2 (W-1) / W,
// the per-link rate a ring needs, comparable across world sizes and with hardware.interconnect_gbps
// (Gbit/s = 8 x GB/s). After timing, one sum of known small integers is checked exactly on every rank
// ("ok" column): a wrong result is reported, never timed as if right.
//
// Usage: bench_allreduce [--backend mpi|nccl] [--min-bytes N] [--max-bytes N] [--iters N] [--warmup N]
// Rank 0 prints the table and writes bench/results/allreduce_<backend>_<W>ranks.json.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_common.hpp"
#include "common/error.hpp"
#include "trainer/dist/allreduce.hpp"
#include "trainer/dist/world.hpp"

#ifdef HRM_HAVE_NCCL
#include "trainer/cuda/cuda_check.hpp"
#include "trainer/dist/nccl_comm.hpp"
#endif

using i64 = std::int64_t;

namespace {

struct Options {
  std::string backend = "mpi";
  i64 min_bytes = 8, max_bytes = i64{128} << 20;
  int iters = 20, warmup = 5;
};

// rank r holds (r + 1) (i % 7 + 1): the sum is W (W + 1) / 2 (i % 7 + 1), exact in fp32 for W <= 64.
float pattern(int rank, i64 i) { return static_cast<float>((rank + 1) * (i % 7 + 1)); }
float expected(int world, i64 i) { return static_cast<float>(world * (world + 1) / 2 * (i % 7 + 1)); }

// One backend: fill(host values), sum (n floats in place, waited), read back.
struct Backend {
  virtual ~Backend() = default;
  virtual void upload(const std::vector<float>& h) = 0;
  virtual void sum(i64 n) = 0;  // returns when the sum is complete on this rank
  virtual std::vector<float> download(i64 n) = 0;
};

struct MpiBackend : Backend {
  const hrm::World& w;
  std::vector<float> data;
  explicit MpiBackend(const hrm::World& world) : w(world) {}
  void upload(const std::vector<float>& h) override { data = h; }
  void sum(i64 n) override { hrm::allreduce_sum(w, data.data(), n); }
  std::vector<float> download(i64 n) override { return {data.begin(), data.begin() + n}; }
};

#ifdef HRM_HAVE_NCCL
struct NcclBackend : Backend {
  hrm::NcclComm comm;
  cudaStream_t stream{};
  float* data = nullptr;
  explicit NcclBackend(const hrm::World& w, i64 max_floats) : comm(w) {
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&data), static_cast<std::size_t>(max_floats) * sizeof(float)));
  }
  ~NcclBackend() override {
    cudaFree(data);
    cudaStreamDestroy(stream);
  }
  void upload(const std::vector<float>& h) override {
    CUDA_CHECK(cudaMemcpy(data, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
  }
  void sum(i64 n) override {
    comm.allreduce_sum(data, n, stream);
    comm.wait(stream, "all-reduce");
  }
  std::vector<float> download(i64 n) override {
    std::vector<float> h(static_cast<std::size_t>(n));
    CUDA_CHECK(cudaMemcpy(h.data(), data, h.size() * sizeof(float), cudaMemcpyDeviceToHost));
    return h;
  }
};
#endif

std::unique_ptr<Backend> make_backend(const Options& o, const hrm::World& w) {
  if (o.backend == "mpi") return std::make_unique<MpiBackend>(w);
#ifdef HRM_HAVE_NCCL
  if (o.backend == "nccl") return std::make_unique<NcclBackend>(w, o.max_bytes / 4);
#endif
  throw hrm::InputError("--backend", "'" + o.backend + "' is not a backend of this build",
                        std::string("mpi") + (
#ifdef HRM_HAVE_NCCL
                            ", nccl"
#else
                            " (nccl needs a build with CUDA and NCCL)"
#endif
                            ));
}

i64 parse_count(const char* flag, const char* v) {
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  if (end == v || *end || x <= 0) throw hrm::InputError(flag, std::string("'") + v + "' is not a positive integer");
  return x;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--backend" && has_value) o.backend = argv[++i];
    else if (a == "--min-bytes" && has_value) o.min_bytes = parse_count("--min-bytes", argv[++i]);
    else if (a == "--max-bytes" && has_value) o.max_bytes = parse_count("--max-bytes", argv[++i]);
    else if (a == "--iters" && has_value) o.iters = static_cast<int>(parse_count("--iters", argv[++i]));
    else if (a == "--warmup" && has_value) o.warmup = static_cast<int>(parse_count("--warmup", argv[++i]));
    else
      throw hrm::InputError("bench_allreduce", "unknown argument '" + a + "'",
                            "usage: bench_allreduce [--backend mpi|nccl] [--min-bytes N] [--max-bytes N] [--iters N] "
                            "[--warmup N], one process per rank (mpirun -np W ...)");
  }
  if (o.min_bytes < 4 || o.min_bytes > o.max_bytes)
    throw hrm::InputError("--min-bytes", "must be at least 4 and at most --max-bytes");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    auto world = hrm::World::from_launcher();
    const hrm::World& w = *world;
    auto backend = make_backend(o, w);
    const int W = w.size();
    if (w.is_root())
      std::printf("# all-reduce (sum, fp32, in place), backend %s, %d rank(s), %d iterations after %d warm-up\n"
                  "%12s %12s %10s %10s %10s %4s\n",
                  o.backend.c_str(), W, o.iters, o.warmup, "bytes", "floats", "time_us", "algbw_GBs", "busbw_GBs", "ok");
    nlohmann::json rows = nlohmann::json::array();
    bool all_ok = true;
    for (i64 bytes = o.min_bytes; bytes <= o.max_bytes; bytes *= 2) {
      const i64 n = bytes / 4;
      std::vector<float> h(static_cast<std::size_t>(n));
      for (i64 i = 0; i < n; ++i) h[static_cast<std::size_t>(i)] = pattern(w.rank(), i);
      backend->upload(h);
      for (int k = 0; k < o.warmup; ++k) backend->sum(n);
      w.barrier();
      const auto t0 = std::chrono::steady_clock::now();
      for (int k = 0; k < o.iters; ++k) backend->sum(n);
      double seconds[1] = {std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / o.iters};
      hrm::allreduce_sum(w, seconds, 1);
      const double t = seconds[0] / W;
      backend->upload(h);
      backend->sum(n);
      const std::vector<float> got = backend->download(n);
      double bad[1] = {0};
      for (i64 i = 0; i < n; ++i) bad[0] += got[static_cast<std::size_t>(i)] != expected(W, i);
      hrm::allreduce_sum(w, bad, 1);
      const bool ok = bad[0] == 0;
      all_ok = all_ok && ok;
      const double algbw = static_cast<double>(bytes) / t / 1e9;
      const double busbw = W > 1 ? algbw * 2.0 * (W - 1) / W : 0.0;
      if (w.is_root())
        std::printf("%12lld %12lld %10.1f %10.3f %10.3f %4s\n", static_cast<long long>(bytes), static_cast<long long>(n),
                    t * 1e6, algbw, busbw, ok ? "yes" : "NO");
      rows.push_back({{"bytes", bytes}, {"floats", n}, {"time_us", t * 1e6}, {"algbw_GBs", algbw}, {"busbw_GBs", busbw},
                      {"correct", ok}});
    }
    if (w.is_root()) {
      const std::string name = "allreduce_" + o.backend + "_" + std::to_string(W) + "ranks";
      const std::string path = hrm::bench::write_results(
          name, {{"backend", o.backend}, {"world_size", W}, {"launcher", w.launcher()}, {"iters", o.iters},
                 {"warmup", o.warmup}},
          rows);
      std::printf("# %s\n", path.c_str());
    }
    return all_ok ? 0 : 1;
  } catch (const hrm::InputError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    if (!e.hint().empty()) std::fprintf(stderr, "hint: %s\n", e.hint().c_str());
    return 2;
  } catch (const hrm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
