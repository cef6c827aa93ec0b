// test_nccl.cpp: the GPU ranks' communicator (trainer/dist/nccl_comm): the error without a device (runs
// in CI), and on GPUs the sums and gathers at world size 1 and over two ranks under mpirun, checked
// exactly (small integers). Built only with CUDA and NCCL; a case that needs a device it does not have
// exits 77 (CTest: skipped).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "test_util.hpp"
#include "trainer/dist/nccl_comm.hpp"

namespace {

void skip_unless(bool ok, const char* why) {
  if (ok) return;
  const std::string message = std::string("skipped: ") + why;
  MESSAGE(message);
  std::exit(77);  // CTest SKIP_RETURN_CODE
}

#define REQUIRE_CUDA(call) REQUIRE((call) == cudaSuccess)

template <class T> struct Device {
  T* p = nullptr;
  std::size_t n = 0;
  explicit Device(const std::vector<T>& h) : n(h.size()) {
    REQUIRE_CUDA(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T)));
    REQUIRE_CUDA(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~Device() { cudaFree(p); }
  std::vector<T> host() const {
    std::vector<T> h(n);
    REQUIRE_CUDA(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
};

// Rank r's values: (r + 1) (i + 1); their sum over W ranks is W (W + 1) / 2 (i + 1), exact.
std::vector<float> values(int rank, std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>((rank + 1) * static_cast<int>(i + 1));
  return v;
}

// Sum, metric sum and gathers over `w`, checked against their exact values.
void check_collectives(const hrm::World& w) {
  hrm::NcclComm comm(w);
  CHECK(comm.device() == w.local_rank());
  const int W = w.size();
  cudaStream_t s{};
  REQUIRE_CUDA(cudaStreamCreate(&s));
  Device<float> grads(values(w.rank(), 1000));
  Device<double> metrics(std::vector<double>{1.0 * w.rank(), 0.5});
  Device<float> row(values(w.rank(), 3)), rows(std::vector<float>(3 * static_cast<std::size_t>(W), -1.0f));
  Device<std::int32_t> id(std::vector<std::int32_t>{10 + w.rank()}), ids(std::vector<std::int32_t>(W, -1));
  comm.allreduce_sum(grads.p, 1000, s);
  comm.allreduce_sum(metrics.p, 2, s);
  comm.allgather(row.p, rows.p, 3, s);
  comm.allgather(id.p, ids.p, 1, s);
  comm.wait(s, "the test's collectives");
  const std::vector<float> g = grads.host();
  for (std::size_t i = 0; i < g.size(); ++i) REQUIRE(g[i] == static_cast<float>(W * (W + 1) / 2 * static_cast<int>(i + 1)));
  CHECK(metrics.host() == std::vector<double>{W * (W - 1) / 2.0, 0.5 * W});
  const std::vector<float> r = rows.host();
  const std::vector<std::int32_t> got_ids = ids.host();
  for (int k = 0; k < W; ++k) {
    CHECK(got_ids[static_cast<std::size_t>(k)] == 10 + k);
    for (std::size_t i = 0; i < 3; ++i) CHECK(r[static_cast<std::size_t>(k) * 3 + i] == values(k, 3)[i]);
  }
  cudaStreamDestroy(s);
}

}  // namespace

TEST_CASE("NCCL without a CUDA device: a DistError naming the rank, with the fix") {
  skip_unless(hrm::cuda_device_count() == 0, "this machine has a CUDA device");
  hrm::World w;
  try {
    hrm::NcclComm comm(w);
    FAIL("NcclComm started without a device");
  } catch (const hrm::DistError& e) {
    const std::string m = e.what();
    CHECK(m.find("no CUDA device") != std::string::npos);
    CHECK(m.find("rank 0/1") != std::string::npos);
    CHECK(m.find("--device cpu") != std::string::npos);
  }
}

TEST_CASE("NCCL at world size 1: the sums and gathers of one rank are its own data") {
  skip_unless(hrm::cuda_device_count() > 0, "no CUDA device");
  hrm::World w;
  check_collectives(w);
}

TEST_CASE("NCCL over two ranks under mpirun: sums over both GPUs and gathers in rank order, exact") {
  if (!std::getenv("OMPI_COMM_WORLD_SIZE")) {  // the CTest entry: start this case on two ranks
    skip_unless(hrm::cuda_device_count() >= 2, "fewer than two CUDA devices");
#ifndef HRM_HAVE_MPI
    skip_unless(false, "hrm built without MPI");
#endif
    skip_unless(hrm_test::run("command -v mpirun").code == 0, "no mpirun on PATH");
    char self[4096] = {};
    REQUIRE(::readlink("/proc/self/exe", self, sizeof self - 1) > 0);
    const auto r = hrm_test::run(std::string("env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 ") +
                                 self + " -tc='NCCL over two ranks*'");
    INFO(r.out);
    CHECK(r.code == 0);
    return;
  }
  auto w = hrm::World::from_launcher();
  REQUIRE(w->size() == 2);
  check_collectives(*w);
}
