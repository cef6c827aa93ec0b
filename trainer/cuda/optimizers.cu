// optimizers.cu: AdamATan2 over the parameter slab and sparse sign-SGD on the puzzle-embedding
// table (HRM-SPEC 3.1-3.2, 11.1 item 6), on the device. Shapes and = rules: optimizers.hpp.
// Every multiply-add is an explicit fmaf and every other product an fma operand, as in the CPU
// version, so nvcc's contraction cannot change the rounding; sqrt and division are IEEE. atan2 is
// evaluated in double and rounded to float (the CPU rounds the correctly rounded double atan2;
// CUDA's is within 2 double ulp, so the float results agree except, rarely, by one float ulp).
// sign-SGD: one thread per (row, feature); the thread of an id's first row sums the rows of that id
// in row order (O(rows^2) comparisons: rows is the global batch, hundreds) and writes the update.
#include "trainer/cuda/context.cuh"
#include "trainer/cuda/optimizers.hpp"
#include "trainer/loop/adam_atan2.hpp"

namespace hrm::cuda {
namespace {

__global__ void adam_atan2_kernel(float* p, bf16* p_bf16, const float* g, float* m, float* v, i64 n,
                                  AdamAtan2Scalars<float> s, const std::int32_t* gate) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n || (gate && *gate == 0)) return;
  const float gi = g[i];
  const float mi = fmaf(s.mbeta1, gi, fmaf(-s.mbeta1, m[i], m[i]));
  const float vi = fmaf(s.mbeta2, gi * gi, fmaf(-s.mbeta2, v[i], v[i]));
  m[i] = mi;
  v[i] = vi;
  const float denom = sqrtf(vi) / s.bc2_sqrt;
  const float angle = static_cast<float>(atan2(static_cast<double>(mi), static_cast<double>(denom)));
  const float pi = fmaf(-s.step_size, angle, p[i] * s.wd_alpha);
  p[i] = pi;
  if (p_bf16) p_bf16[i] = __float2bfloat16_rn(pi);
}

__global__ void sign_sgd_kernel(float* table, i64 table_rows, i64 ndim, const std::int32_t* ids, const float* grads,
                                i64 rows, float decay, float neg_lr, unsigned* errors, const std::int32_t* gate) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * ndim || (gate && *gate == 0)) return;
  const i64 r = i / ndim, j = i % ndim;
  const std::int32_t id = ids[r];
  if (id < 0 || id >= table_rows) {
    if (j == 0) atomicOr(errors, kBadPuzzleId);
    return;
  }
  for (i64 k = 0; k < r; ++k)
    if (ids[k] == id) return;  // not the id's first row: that row's thread updates it
  float acc = grads[r * ndim + j];
  for (i64 k = r + 1; k < rows; ++k)
    if (ids[k] == id) acc += grads[k * ndim + j];
  // torch.sign: 0 for +-0, NaN stays NaN
  const float sign = acc > 0.0f ? 1.0f : (acc < 0.0f ? -1.0f : (acc == acc ? 0.0f : acc));
  float* w = table + static_cast<i64>(id) * ndim + j;
  *w = fmaf(neg_lr, sign, *w * decay);
}

// `volatile` keeps `1 - lr*wd` two roundings, as trainer/loop/sign_sgd.cpp computes it.
double rounded_product(double a, double b) {
  volatile double p = a * b;
  return p;
}

}  // namespace

void adam_atan2_step(float* p, bf16* p_bf16, const float* g, float* m, float* v, i64 n, i64 step, double lr,
                     double beta1, double beta2, double weight_decay, const std::int32_t* gate) {
  const AdamAtan2Scalars<float> s = adam_atan2_scalars<float>(step, lr, beta1, beta2, weight_decay);
  if (n == 0) return;
  adam_atan2_kernel<<<grid_for(n), kThreads, 0, stream()>>>(p, p_bf16, g, m, v, n, s, gate);
  HRM_CUDA_CHECK_LAUNCH(adam_atan2_kernel);
}

void sign_sgd_step(float* table, i64 table_rows, i64 ndim, const std::int32_t* ids, const float* grads, i64 rows,
                   double lr, double weight_decay, const std::int32_t* gate) {
  HRM_CHECK(table_rows >= 0 && ndim >= 0 && rows >= 0, "sign_sgd_step: negative size");
  if (rows * ndim == 0) return;
  const float decay = static_cast<float>(1.0 - rounded_product(lr, weight_decay));
  sign_sgd_kernel<<<grid_for(rows * ndim), kThreads, 0, stream()>>>(table, table_rows, ndim, ids, grads, rows, decay,
                                                                    static_cast<float>(-lr), error_word(), gate);
  HRM_CUDA_CHECK_LAUNCH(sign_sgd_kernel);
}

}  // namespace hrm::cuda
