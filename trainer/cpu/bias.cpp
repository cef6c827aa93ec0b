// bias.cpp: the Q head's bias (HRM-SPEC 1.8), forward and backward: y(rows, cols) += bias(cols);
// dbias(cols) += the rows of dy summed in row order. The loops the model ran inline before.
#include <cstdint>

#include "trainer/cpu/cpu_ops.hpp"

namespace hrm {

template <class T> void CpuOps::bias_add(T* y, const T* bias, i64 rows, i64 cols) {
  for (i64 r = 0; r < rows; ++r)
    for (i64 c = 0; c < cols; ++c) y[r * cols + c] += bias[c];
}

template <class T>
void CpuOps::bias_backward(ops::acc_t<T>* dbias, const T* dy, i64 rows, i64 cols) {
  for (i64 r = 0; r < rows; ++r)
    for (i64 c = 0; c < cols; ++c) dbias[c] += dy[r * cols + c];
}

template void CpuOps::bias_add<float>(float*, const float*, std::int64_t, std::int64_t);
template void CpuOps::bias_add<double>(double*, const double*, std::int64_t, std::int64_t);
template void CpuOps::bias_backward<float>(float*, const float*, std::int64_t, std::int64_t);
template void CpuOps::bias_backward<double>(double*, const double*, std::int64_t, std::int64_t);

}  // namespace hrm
