// device_options.hpp: --device and --gemm-math, shared by hrm train and hrm eval.
//   --device cpu | cuda | auto       auto = cpu; cuda: the CUDA backend, one GPU per rank
//   --gemm-math fp32 | tf32 | bf16 | auto   with cuda, how the GEMMs multiply (cuda::GemmMath);
//                                    auto = bf16 inputs for forward_dtype "bfloat16" (HRM's), fp32 for float32
#pragma once

#include <string>

#include <boost/program_options.hpp>

#include "common/config.hpp"
#include "trainer/loop/trainer.hpp"

namespace hrm::cli {

struct DeviceOptions {
  std::string device = "auto", gemm_math = "auto";
  bool cuda() const { return device == "cuda"; }
};

// Adds both options (for `command`'s help text) to `opts`, bound to `o`.
void add_device_options(boost::program_options::options_description& opts, DeviceOptions& o, const std::string& verb);

// InputError (exit 2) for a value that is neither of the choices, --gemm-math without --device cuda,
// and --device cuda in a build without the CUDA backend or on a machine where no device answers.
void check_device_options(const DeviceOptions& o, const std::string& command);

// With --device cuda: selects the GEMM mode for `config` and returns the CUDA step's factory; with
// the CPU, an empty factory (the Trainer's CPU step).
DeviceStepFactory device_step_factory(const DeviceOptions& o, const Config& config);

// The GEMM mode in use after device_step_factory ("fp32", "tf32", "bf16"), for run.json.
std::string gemm_math_in_use();

}  // namespace hrm::cli
