// device_options.cpp: see device_options.hpp.
#include "apps/hrm/device_options.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#if defined(HRM_HAVE_CUDA)
#include "trainer/cuda/cuda_check.hpp"
#include "trainer/cuda/cuda_ops.hpp"
#include "trainer/cuda/cuda_train_step.hpp"
#endif

namespace po = boost::program_options;

namespace hrm::cli {

void add_device_options(po::options_description& opts, DeviceOptions& o, const std::string& verb) {
  opts.add_options()
      ("device", po::value(&o.device)->default_value("auto"),
       fmt::format("cpu | cuda | auto (auto = cpu; cuda: {} on one GPU per rank)", verb).c_str())
      ("storage", po::value(&o.storage)->default_value("auto"),
       "with --device cuda, the arrays' type: fp32 | bf16 | auto (bf16: HRM's own, bf16 activations and GEMMs with "
       "fp32 master weights, gradients and optimizer; auto = bf16 for forward_dtype bfloat16 unless --gemm-math "
       "says fp32 or tf32, else fp32)")
      ("gemm-math", po::value(&o.gemm_math)->default_value("auto"),
       "with --device cuda and fp32 storage, how the GEMMs multiply: fp32 | tf32 | bf16 | auto (auto = bf16 inputs, "
       "as HRM, for forward_dtype bfloat16; fp32 for float32)");
}

void check_device_options(const DeviceOptions& o, const std::string& command) {
  if (o.device != "cpu" && o.device != "cuda" && o.device != "auto")
    throw InputError("--device", fmt::format("'{}' is not a device; expected cpu, cuda or auto", o.device));
  if (o.gemm_math != "auto" && o.gemm_math != "fp32" && o.gemm_math != "tf32" && o.gemm_math != "bf16")
    throw InputError("--gemm-math",
                     fmt::format("'{}' is not a GEMM mode; expected fp32, tf32, bf16 or auto", o.gemm_math));
  if (o.storage != "auto" && o.storage != "fp32" && o.storage != "bf16")
    throw InputError("--storage", fmt::format("'{}' is not a storage type; expected fp32, bf16 or auto", o.storage));
  for (const auto& [name, value] : {std::pair{"--storage", &o.storage}, std::pair{"--gemm-math", &o.gemm_math}})
    if (*value != "auto" && !o.cuda())
      throw InputError(name, "applies to the CUDA backend only", fmt::format("add --device cuda, or leave {} out", name));
  if (o.storage == "bf16" && (o.gemm_math == "fp32" || o.gemm_math == "tf32"))
    throw InputError("--gemm-math", fmt::format("bf16 storage multiplies bf16 on the tensor cores, not {}", o.gemm_math),
                     "use --storage fp32 with --gemm-math fp32 or tf32, or leave --gemm-math out");
  if (!o.cuda()) return;
#if defined(HRM_HAVE_CUDA)
  const std::string why = cuda::no_device_reason();
  if (!why.empty())
    throw InputError(command + " --device cuda", fmt::format("no CUDA device found ({})", why),
                     "use --device cpu (or auto, which runs on the CPU)");
#else
  throw InputError(command + " --device cuda",
                   "this build of hrm has no CUDA backend (no CUDA compiler was found, or HRM_CUDA=OFF)",
                   "use --device cpu, or rebuild with the CUDA toolkit");
#endif
}

std::string storage_for(const DeviceOptions& o, const Config& config) {
  if (o.storage != "auto") return o.storage;
  const bool bf16_forward = config.arch.forward_dtype == "bfloat16";
  return bf16_forward && (o.gemm_math == "auto" || o.gemm_math == "bf16") ? "bf16" : "fp32";
}

DeviceStepFactory device_step_factory(const DeviceOptions& o, const Config& config) {
  if (!o.cuda()) return {};
#if defined(HRM_HAVE_CUDA)
  // bf16 storage multiplies bf16 (check_device_options refused fp32 / tf32 with it), and says so.
  const cuda::Storage storage = cuda::storage_named(storage_for(o, config));
  const std::string m = storage == cuda::Storage::bf16            ? "bf16"
                        : o.gemm_math != "auto"                   ? o.gemm_math
                        : config.arch.forward_dtype == "bfloat16" ? "bf16"
                                                                  : "fp32";
  cuda::set_gemm_math(cuda::gemm_math_named(m));
  return [storage](const HrmDims& d, std::int64_t batch, const World& w) {
    return cuda::make_train_step(d, batch, w, storage);
  };
#else
  (void)config;
  return {};  // check_device_options refused --device cuda in this build
#endif
}

std::string gemm_math_in_use() {
#if defined(HRM_HAVE_CUDA)
  return cuda::gemm_math_name(cuda::gemm_math());
#else
  return "fp32";
#endif
}

}  // namespace hrm::cli
