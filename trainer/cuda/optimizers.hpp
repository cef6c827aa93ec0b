// optimizers.hpp: HRM's two optimizer steps on the device, the CUDA counterparts of
// trainer/loop/adam_atan2.hpp and trainer/loop/sign_sgd.hpp (same arguments, device pointers; the
// formulas and their rounding are documented there). Host C++: includable without nvcc.
//   adam_atan2_step: p, m, v (n) updated in place (=); g (n) read only; p_bf16 (n, may be null) =
//                    the new p rounded to bf16 (a bf16 model's working copy of the fp32 master
//                    weights). One fused kernel over the slab; the per-step scalars come from
//                    adam_atan2_scalars<float> on the host.
//   sign_sgd_step:   table (table_rows, ndim) rows named by ids (rows) updated in place (=), the
//                    gradient rows of one id summed in row order first. An id outside the table
//                    sets a device error bit (CudaOps::check_errors) and its row is skipped.
// gate (device memory, may be null: always open): with *gate == 0 the kernels change nothing (the
// CUDA trainer's checks before the update, step_report.hpp).
#pragma once

#include <cstdint>

#include "trainer/cuda/bf16.hpp"

namespace hrm::cuda {

void adam_atan2_step(float* p, bf16* p_bf16, const float* g, float* m, float* v, std::int64_t n, std::int64_t step,
                     double lr, double beta1, double beta2, double weight_decay, const std::int32_t* gate = nullptr);

void sign_sgd_step(float* table, std::int64_t table_rows, std::int64_t ndim, const std::int32_t* ids,
                   const float* grads, std::int64_t rows, double lr, double weight_decay,
                   const std::int32_t* gate = nullptr);

}  // namespace hrm::cuda
