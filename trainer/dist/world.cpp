// world.cpp: joining the launcher's world (MPI when built with it), rank, size, local rank, host.
#include "trainer/dist/world.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>

#include "common/error.hpp"

#ifdef HRM_HAVE_MPI
#include "trainer/dist/mpi_check.hpp"
#endif

namespace hrm {

namespace {

// An integer environment variable; unset is nullopt, garbage is an InputError naming it.
std::optional<int> env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  int x = 0;
  const char* end = v + std::char_traits<char>::length(v);
  const auto r = std::from_chars(v, end, x);
  if (r.ec != std::errc() || r.ptr != end || x < 0)
    throw InputError(fmt::format("environment variable {}", name), fmt::format("'{}' is not a non-negative integer", v),
                     "it is set by the launcher (mpirun, srun); unset it when starting hrm by hand");
  return x;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

// Which launcher started this process, and how many processes it says the job has (0: unknown).
struct LaunchEnv {
  std::string launcher = "none";
  int expected_size = 1;
};

LaunchEnv launch_env() {
  LaunchEnv e;
  if (const auto n = env_int("OMPI_COMM_WORLD_SIZE")) {
    e.launcher = "mpirun";
    e.expected_size = *n;
  } else if (const auto n = env_int("SLURM_STEP_NUM_TASKS"); n && std::getenv("SLURM_PROCID")) {
    e.launcher = "srun";  // a job step (sbatch's own script has no SLURM_STEP_NUM_TASKS)
    e.expected_size = *n;
  } else if (const auto n = env_int("PMI_SIZE")) {
    e.launcher = "pmi";
    e.expected_size = *n;
  } else if (std::getenv("PMIX_RANK")) {
    e.launcher = "pmi";
    e.expected_size = 0;
  }
  return e;
}

}  // namespace

World::World() : host_(host_name()) {}

std::unique_ptr<World> World::from_launcher() {
  auto w = std::make_unique<World>();
  const LaunchEnv env = launch_env();
  w->launcher_ = env.launcher;
  if (env.launcher == "none") return w;
#ifdef HRM_HAVE_MPI
  int provided = 0;
  MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
  w->mpi_ = true;
  // Errors come back as codes (MPI_CHECK throws DistError) instead of MPI's default abort.
  MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &w->rank_));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &w->size_));
  set_error_origin(w->origin());
  if (env.expected_size > 0 && env.expected_size != w->size_)
    throw InputError(env.launcher, fmt::format("started {} processes, but MPI sees a world of {}", env.expected_size, w->size_),
                     env.launcher == "srun" ? "launch with srun --mpi=pmix (OpenMPI needs Slurm's PMIx plugin), or use mpirun"
                                            : "launch every rank with the same MPI (mpirun from the OpenMPI hrm was built with)");
  if (const auto l = env_int("OMPI_COMM_WORLD_LOCAL_RANK")) {
    w->local_rank_ = *l;
  } else if (const auto s = env_int("SLURM_LOCALID")) {
    w->local_rank_ = *s;
  } else {
    MPI_Comm node;
    MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w->rank_, MPI_INFO_NULL, &node));
    MPI_CHECK(MPI_Comm_rank(node, &w->local_rank_));
    MPI_CHECK(MPI_Comm_free(&node));
  }
#else
  if (env.expected_size > 1)
    throw InputError(env.launcher, fmt::format("started {} processes, but this build of hrm has no MPI", env.expected_size),
                     "install libopenmpi-dev (./run install-deps) and rebuild, or run one process");
#endif
  return w;
}

World::~World() {
#ifdef HRM_HAVE_MPI
  int finalized = 0;
  if (mpi_ && MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized) MPI_Finalize();
#endif
}

std::string World::origin() const { return fmt::format("rank {}/{} on {}", rank_, size_, host_); }

void World::barrier() const {
#ifdef HRM_HAVE_MPI
  if (mpi_) MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
#endif
}

bool World::any(bool flag) const {
#ifdef HRM_HAVE_MPI
  if (mpi_ && size_ > 1) {
    int in = flag ? 1 : 0, out = 0;
    MPI_CHECK(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    return out != 0;
  }
#endif
  return flag;
}

void World::abort(int code) const {
#ifdef HRM_HAVE_MPI
  if (mpi_) {
    MPI_Abort(MPI_COMM_WORLD, code);
  }
#endif
  (void)code;
  HRM_CHECK(false, "World::abort without MPI (a world of one returns its exit code instead)");
  throw Error("unreachable");  // HRM_CHECK(false) throws; this keeps [[noreturn]] honest for the compiler
}

bool world_has_mpi() {
#ifdef HRM_HAVE_MPI
  return true;
#else
  return false;
#endif
}

}  // namespace hrm
