// sign_sgd.cpp: sparse sign-SGD on the puzzle-embedding table (HRM-SPEC 3.2).
// Duplicates are summed in row order, as torch's scatter_add_ does on the CPU, so the sign of a
// sum that is nearly zero is reproducible. The decayed weight is rounded before lr*sign is
// subtracted (an exact product, sign being -1, 0 or 1), so the explicit fma equals torch's
// mul_ then add_ whatever -ffp-contract says.
#include "trainer/loop/sign_sgd.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "common/error.hpp"

namespace hrm {
namespace {

// Below this many updated elements the threads cost more than they save.
constexpr std::int64_t kSignSgdParallelMin = std::int64_t{1} << 16;

// `volatile` keeps `1 - lr*wd` two roundings (as Python computes it) under -ffp-contract=fast.
double rounded_product(double a, double b) {
  volatile double p = a * b;
  return p;
}

}  // namespace

template <class T>
void sign_sgd_step(T* table, std::int64_t table_rows, std::int64_t ndim, const std::int32_t* ids, const T* grads,
                   std::int64_t rows, double lr, double weight_decay) {
  HRM_CHECK(table_rows >= 0 && ndim >= 0 && rows >= 0, "sign_sgd_step: negative size");
  for (std::int64_t r = 0; r < rows; ++r)
    HRM_CHECK(ids[r] >= 0 && ids[r] < table_rows, "puzzle id {} (row {} of {}) is outside the table of {} rows",
              ids[r], r, rows, table_rows);

  // Row indices grouped by id; the stable sort keeps each id's rows in their original order.
  std::vector<std::int64_t> order(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(), [ids](std::int64_t a, std::int64_t b) { return ids[a] < ids[b]; });
  std::vector<std::int64_t> starts;
  for (std::int64_t k = 0; k < rows; ++k)
    if (k == 0 || ids[order[k]] != ids[order[k - 1]]) starts.push_back(k);
  starts.push_back(rows);
  const auto groups = static_cast<std::int64_t>(starts.size()) - 1;

  const T decay = static_cast<T>(1.0 - rounded_product(lr, weight_decay));
  const T neg_lr = static_cast<T>(-lr);
#pragma omp parallel if (rows * ndim >= kSignSgdParallelMin)
  {
    std::vector<T> acc(static_cast<std::size_t>(ndim));
#pragma omp for schedule(static)
    for (std::int64_t k = 0; k < groups; ++k) {
      const std::int64_t first = starts[k], last = starts[k + 1];
      std::copy_n(grads + order[first] * ndim, ndim, acc.begin());
      for (std::int64_t r = first + 1; r < last; ++r) {
        const T* gr = grads + order[r] * ndim;
#pragma omp simd
        for (std::int64_t j = 0; j < ndim; ++j) acc[j] += gr[j];
      }
      T* w = table + static_cast<std::int64_t>(ids[order[first]]) * ndim;
      const T* a = acc.data();
#pragma omp simd
      for (std::int64_t j = 0; j < ndim; ++j) {
        const T x = a[j];
        // torch.sign: 0 for +-0, NaN stays NaN (a diverged step shows instead of being hidden)
        const T sign = x > T(0) ? T(1) : (x < T(0) ? T(-1) : (x == x ? T(0) : x));
        w[j] = std::fma(neg_lr, sign, w[j] * decay);
      }
    }
  }
}

template void sign_sgd_step<float>(float*, std::int64_t, std::int64_t, const std::int32_t*, const float*, std::int64_t,
                                   double, double);
template void sign_sgd_step<double>(double*, std::int64_t, std::int64_t, const std::int32_t*, const double*,
                                    std::int64_t, double, double);

}  // namespace hrm
