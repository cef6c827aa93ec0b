// device_options.hpp: --device, --storage and --gemm-math, shared by hrm train and hrm eval.
//   --device cpu | cuda | auto       auto = cpu; cuda: the CUDA backend, one GPU per rank
//   --storage fp32 | bf16 | auto     with cuda, the arrays' type (cuda::Storage): bf16 is HRM's own
//                                    (HRM-SPEC 1.9: bf16 activations and GEMMs, fp32 master weights,
//                                    gradients and optimizer); auto = bf16 for forward_dtype "bfloat16"
//                                    unless --gemm-math asks for fp32 or tf32, else fp32
//   --gemm-math fp32 | tf32 | bf16 | auto   with fp32 storage, how the GEMMs multiply (cuda::GemmMath);
//                                    auto = bf16 inputs for forward_dtype "bfloat16" (HRM's), fp32 for float32
#pragma once

#include <string>

#include <boost/program_options.hpp>

#include "common/config.hpp"
#include "trainer/loop/trainer.hpp"

namespace hrm::cli {

struct DeviceOptions {
  std::string device = "auto", storage = "auto", gemm_math = "auto";
  bool cuda() const { return device == "cuda"; }
};

// Adds both options (for `command`'s help text) to `opts`, bound to `o`.
void add_device_options(boost::program_options::options_description& opts, DeviceOptions& o, const std::string& verb);

// InputError (exit 2) for a value that is none of the choices, --storage or --gemm-math without
// --device cuda, --storage bf16 with --gemm-math fp32 or tf32 (bf16 arrays multiply in bf16), and
// --device cuda in a build without the CUDA backend or on a machine where no device answers.
void check_device_options(const DeviceOptions& o, const std::string& command);

// The storage --storage names for `config` ("fp32" or "bf16"; "auto" resolved as above).
std::string storage_for(const DeviceOptions& o, const Config& config);

// With --device cuda: selects the GEMM mode for `config` and returns the CUDA step's factory (of the
// storage_for type); with the CPU, an empty factory (the Trainer's CPU step).
DeviceStepFactory device_step_factory(const DeviceOptions& o, const Config& config);

// The GEMM mode in use after device_step_factory ("fp32", "tf32", "bf16"), for run.json.
std::string gemm_math_in_use();

}  // namespace hrm::cli
