// sign_sgd.hpp: the sparse sign-SGD step of HRM's puzzle-embedding table
// (CastedSparseEmbeddingSignSGD_Distributed, HRM-SPEC 3.2). Only the rows named by the step's ids
// change: gradient rows of the same id are summed first, then
//   w[id] = w[id] * (1 - lr*wd) - lr * sign(G[id]),  sign(0) = 0,
// so rows no slot works on are neither moved nor decayed. The table is updated in place (=).
#pragma once

#include <cstdint>

namespace hrm {

// table: (table_rows, ndim); ids: (rows) int32; grads: (rows, ndim). `rows` is W*b: the ids and
// gradient rows of every rank after the all-gather, so each rank applies the identical update.
// An id outside [0, table_rows) is an HRM_CHECK failure (the sampler produced it, not the user).
template <class T>
void sign_sgd_step(T* table, std::int64_t table_rows, std::int64_t ndim, const std::int32_t* ids, const T* grads,
                   std::int64_t rows, double lr, double weight_decay);

extern template void sign_sgd_step<float>(float*, std::int64_t, std::int64_t, const std::int32_t*, const float*,
                                          std::int64_t, double, double);
extern template void sign_sgd_step<double>(double*, std::int64_t, std::int64_t, const std::int32_t*, const double*,
                                           std::int64_t, double, double);

}  // namespace hrm
