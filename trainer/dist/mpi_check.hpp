// mpi_check.hpp: MPI_CHECK, the MPI member of the one error family (common/error.hpp), and the
// bounded wait for non-blocking collectives. Private to trainer/dist's sources, the only ones that
// include <mpi.h>.
//
// The world communicator returns errors (MPI_ERRORS_RETURN, set by World) instead of aborting, so a
// failed call throws DistError naming the call, file:line, rank and host, and MPI's own message.
// A collective that does not complete within dist_timeout_s() (allreduce.hpp) (a peer hangs or died without
// the launcher noticing) throws DistError too, instead of waiting forever.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "common/error.hpp"

namespace hrm::dist_detail {

inline std::string mpi_error_text(int code) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(buf, static_cast<std::size_t>(len));
}

// Waits for every request (polling MPI_Testall, so the wait is bounded); `what` names the collective.
void wait_all(std::vector<MPI_Request>& requests, const std::string& what);

}  // namespace hrm::dist_detail

#define MPI_CHECK(call)                                                                                 \
  do {                                                                                                  \
    const int hrm_mpi_rc_ = (call);                                                                     \
    if (hrm_mpi_rc_ != MPI_SUCCESS)                                                                     \
      ::hrm::dist_call_failed(#call, __FILE__, __LINE__, ::hrm::dist_detail::mpi_error_text(hrm_mpi_rc_)); \
  } while (0)
