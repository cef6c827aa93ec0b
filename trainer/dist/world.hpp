// world.hpp: the processes of a data-parallel run (ARCHITECTURE.md section 5, dist/).
//
// One process per GPU (or per CPU rank), started by `mpirun -np N hrm ...` or `srun hrm ...`. A World
// owns MPI's lifetime: it calls MPI_Init when the process was started by a launcher (OpenMPI's,
// PMIx, PMI or Slurm's variables are set) and MPI_Finalize when it goes; a process started on its own
// is a world of one and never touches MPI, so a build without MPI (the GPU machine) trains alike.
// The local rank (which GPU to use) comes from OMPI_COMM_WORLD_LOCAL_RANK, then SLURM_LOCALID, then
// the rank within an MPI_COMM_TYPE_SHARED split of the world.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace hrm {

class World {
 public:
  // The world the launcher started: MPI when this build has it and a launcher's variables are set,
  // else one process. A launched world that MPI cannot join (a build without MPI under mpirun, or
  // srun without a PMI plugin) is an InputError with the fix.
  static std::unique_ptr<World> from_launcher();
  // A world of one process that never initialises MPI (tests, tools).
  World();
  ~World();  // MPI_Finalize when this World initialised MPI
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  const std::string& host() const { return host_; }
  const std::string& launcher() const { return launcher_; }  // "none" | "mpirun" | "srun" | "pmi"
  bool uses_mpi() const { return mpi_; }
  bool is_root() const { return rank_ == 0; }
  // "rank R/W on HOST": what error messages name.
  std::string origin() const;

  // Every rank reaches this point (MPI_Barrier; nothing alone).
  void barrier() const;
  // True on every rank when `flag` is true on any (a stop request must be agreed, or ranks part ways).
  bool any(bool flag) const;
  // Ends every rank of the job with `code` (MPI_Abort). For apps only, and only when uses_mpi(): a
  // rank that fails alone must take the others down instead of leaving them waiting in a collective.
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  std::string host_, launcher_ = "none";
  bool mpi_ = false;
};

// Is this build able to run more than one rank (built with MPI)?
bool world_has_mpi();

}  // namespace hrm
