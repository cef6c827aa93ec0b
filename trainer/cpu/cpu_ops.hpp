// cpu_ops.hpp: the Eigen backend of the op contract (trainer/ops/ops.hpp), float32 for training and
// float64 for gradient checks. One source file per op family, forward and backward side by side:
// linear.cpp, rms_norm.cpp, rope.cpp, attention.cpp, swiglu.cpp, embedding.cpp, token_loss.cpp,
// memory.cpp, bias.cpp, act.cpp. Arrays are std::vector (ops::HostMemory). Shapes and = / += rules
// are the contract's; they are not repeated here.
#pragma once

#include <cstdint>

#include "trainer/ops/ops.hpp"

namespace hrm {

struct CpuOps {
  using Memory = ops::HostMemory;
  template <class T> using Buffer = Memory::Buffer<T>;
  HRM_OPS_CONTRACT_DECLARATIONS
};

}  // namespace hrm
