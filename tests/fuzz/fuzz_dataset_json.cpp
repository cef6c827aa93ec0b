// fuzz_dataset_json.cpp: a split's dataset.json (datasets/dataset.cpp, metadata_from_json). The
// metadata that is accepted is written back with metadata_to_json, as the builders do, and that
// text must read again.
#include <cstdlib>

#include "datasets/dataset.hpp"
#include "tests/fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  hrm::DatasetMetadata m;
  bool ok = false;
  hrm_fuzz::accept_input_errors([&] {
    m = hrm::metadata_from_json(text, "fuzz/dataset.json");
    ok = true;
  });
  if (!ok) return 0;
  const std::string again = hrm::metadata_to_json(m);
  try {
    (void)hrm::metadata_from_json(again, "rewritten dataset.json");
  } catch (const hrm::InputError& e) {
    std::fprintf(stderr, "accepted metadata writes back as JSON that does not read: %s\n%s\n", e.what(), again.c_str());
    std::abort();
  }
  return 0;
}
