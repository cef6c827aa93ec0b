// cuda_ops.hpp: the CUDA backend of the op contract (trainer/ops/ops.hpp), float32, every pointer
// a device pointer (SeqLoss records, argmax and seq_scale included). One .cu file per op family,
// forward and backward side by side (linear.cu, rms_norm.cu, rope.cu, attention.cu, swiglu.cu,
// elementwise.cu, embedding.cu, token_loss.cu, memory.cu, bias.cu, act.cu); the matching .cuh holds
// what other families reuse. Arrays are DeviceBuffers (DeviceMemory).
// Shapes and = / += rules are the contract's; they are not repeated here.
//
// Every op only enqueues work on cuda::stream() and returns: nothing synchronises with the host
// inside a step. Input checks the CPU backend does with HRM_CHECK (token ids >= 0, labels in range)
// cannot throw from a kernel: a kernel that meets a bad value sets a bit in a device-side error
// word and treats the value as harmlessly as it can (a zero row); check_errors() (which
// synchronises) throws hrm::Error if any bit is set, and clears them (the train step reads the word
// with its StepReport instead, step_report.hpp).
// T = float (the fp32 parity path; float64 gradient checks stay on the CPU) and T = cuda::bf16 (HRM's
// storage, HRM-SPEC 1.9: bf16 arrays, fp32 arithmetic in every kernel, ops::acc_t<bf16> = float for
// rstd, RoPE tables, probabilities, weight gradients and the puzzle table; the GEMMs multiply bf16 on
// the tensor cores with fp32 accumulation whatever gemm_math() says), plus fill<double> (seq_scale)
// and download of SeqLoss, int32 and ActStepStats records.
#pragma once

#include <cstdint>
#include <string>

#include <cuda_runtime_api.h>

#include "trainer/cuda/bf16.hpp"
#include "trainer/cuda/device_buffer.hpp"
#include "trainer/ops/ops.hpp"

namespace hrm {

namespace cuda {
cudaStream_t stream();  // every op's work goes here, in order (context.cu: the legacy default stream)
// How the fp32 GEMMs (linear_*, attention) multiply; arrays stay fp32 in every mode:
//   fp32  the parity path and the default (CUBLAS_COMPUTE_32F_PEDANTIC: every test compares with it)
//   tf32  the tensor cores on inputs rounded to TF32 (10-bit mantissa), fp32 accumulation, which
//         hrm train uses for forward_dtype = "bfloat16" (finer than HRM's bf16 forward)
//   bf16  the tensor cores at the bf16 rate on inputs rounded to bf16 inside cuBLAS (7-bit mantissa,
//         HRM's own forward precision, HRM-SPEC 1.9), fp32 accumulation and output
//         (CUBLAS_COMPUTE_32F_FAST_16BF, which may also pick TF32 kernels)
// Takes effect for the GEMMs queued after the call; creates no CUDA context (call it at any time).
enum class GemmMath { fp32, tf32, bf16 };
const char* gemm_math_name(GemmMath math);  // "fp32", "tf32", "bf16"
GemmMath gemm_math_named(const std::string& name);  // the inverse; hrm::Error for another name
void set_gemm_math(GemmMath math);
GemmMath gemm_math();
}  // namespace cuda

struct CudaOps {
  using Memory = DeviceMemory;
  template <class T> using Buffer = DeviceBuffer<T>;
  HRM_OPS_CONTRACT_DECLARATIONS

  // Waits for the queued work and throws hrm::Error naming every input check a kernel failed since
  // the last call (then clears them). Call once per step, after the step's work is queued.
  static void check_errors();
};

}  // namespace hrm
