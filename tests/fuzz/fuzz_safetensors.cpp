// fuzz_safetensors.cpp: the safetensors reader (common/safetensors.cpp, SafetensorsFile::open) that
// loads checkpoints and HRM weight files. The input is a whole file; every tensor of a file that
// opens is then read through the typed accessors checkpoints use (floating tensors as float and
// double, integer tensors as int64 and int32 with their range checks), so offsets or shapes that
// disagree with the mapped bytes show up as out-of-bounds reads.
#include <span>

#include "common/safetensors.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

bool floating(hrm::StDType t) {
  return t == hrm::StDType::F64 || t == hrm::StDType::F32 || t == hrm::StDType::BF16 || t == hrm::StDType::F16;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = hrm_fuzz::write_input("input.safetensors", data, size);
  hrm_fuzz::accept_input_errors([&] {
    const hrm::SafetensorsFile f = hrm::SafetensorsFile::open(path);
    for (const auto& [k, v] : f.metadata()) (void)f.metadata(k);
    for (const auto& name : f.names()) {
      const hrm::StTensorInfo& info = f.info(name);
      const auto bytes = f.bytes(name);
      unsigned sum = 0;
      for (auto b : bytes) sum += b;
      (void)sum;
      hrm_fuzz::accept_input_errors([&] {
        if (info.dtype == hrm::StDType::BOOL) {
          (void)f.read_as<std::uint8_t>(name, info.shape);
        } else if (floating(info.dtype)) {
          (void)f.read_as<float>(name, info.shape);
          std::vector<double> out(static_cast<std::size_t>(info.numel()));
          f.read_into<double>(name, info.shape, std::span<double>(out));
        } else {
          hrm_fuzz::accept_input_errors([&] { (void)f.read_as<std::int32_t>(name, info.shape); });
          (void)f.read_as<std::int64_t>(name, info.shape);
          (void)f.read_as<double>(name, info.shape);
        }
      });
    }
  });
  return 0;
}
