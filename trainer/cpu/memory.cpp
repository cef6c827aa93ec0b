// memory.cpp: the data-moving ops (copy, fill, copy_rows, add_rows, gather_rows, download) on host
// memory. Shapes and = / += rules: trainer/ops/ops.hpp. These are the loops the model ran inline
// before they were ops, so the CPU results are unchanged bit for bit.
#include <algorithm>
#include <cstdint>

#include "trainer/cpu/cpu_ops.hpp"

namespace hrm {

template <class T> void CpuOps::copy(T* dst, const T* src, i64 count) { std::copy(src, src + count, dst); }

template <class T> void CpuOps::fill(T* dst, T value, i64 count) { std::fill(dst, dst + count, value); }

template <class T> void CpuOps::copy_rows(T* dst, i64 ld_dst, const T* src, i64 ld_src, i64 rows, i64 cols) {
  for (i64 r = 0; r < rows; ++r) std::copy(src + r * ld_src, src + r * ld_src + cols, dst + r * ld_dst);
}

template <class T> void CpuOps::add_rows(T* dst, i64 ld_dst, const T* src, i64 ld_src, i64 rows, i64 cols) {
  for (i64 r = 0; r < rows; ++r)
    for (i64 c = 0; c < cols; ++c) dst[r * ld_dst + c] += src[r * ld_src + c];
}

template <class T>
void CpuOps::gather_rows(T* dst, const ops::acc_t<T>* table, const i32* ids, i64 rows, i64 cols) {
  for (i64 r = 0; r < rows; ++r) {
    const i64 id = ids[r];
    std::copy(table + id * cols, table + (id + 1) * cols, dst + r * cols);
  }
}

template <class T> void CpuOps::download(T* host, const T* src, i64 count) { std::copy(src, src + count, host); }

#define HRM_CPU_MEMORY_OPS(T)                                                                  \
  template void CpuOps::copy<T>(T*, const T*, std::int64_t);                                   \
  template void CpuOps::fill<T>(T*, T, std::int64_t);                                          \
  template void CpuOps::copy_rows<T>(T*, std::int64_t, const T*, std::int64_t, std::int64_t,   \
                                     std::int64_t);                                            \
  template void CpuOps::add_rows<T>(T*, std::int64_t, const T*, std::int64_t, std::int64_t,    \
                                    std::int64_t);                                             \
  template void CpuOps::gather_rows<T>(T*, const T*, const std::int32_t*, std::int64_t, std::int64_t); \
  template void CpuOps::download<T>(T*, const T*, std::int64_t);
HRM_CPU_MEMORY_OPS(float)
HRM_CPU_MEMORY_OPS(double)
#undef HRM_CPU_MEMORY_OPS
template void CpuOps::download<ops::ActStepStats>(ops::ActStepStats*, const ops::ActStepStats*, std::int64_t);

}  // namespace hrm
