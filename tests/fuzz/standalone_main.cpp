// standalone_main.cpp: the replay driver the normal (g++) build links into every fuzz target in
// place of libFuzzer. `fuzz_X PATH...` feeds each file (and each file under a folder) to
// LLVMFuzzerTestOneInput once, so CTest replays the seed corpora and every crash regression file in
// CI. A crash or an escaping exception fails the run; exit 0 means every input was handled.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void replay(const std::filesystem::path& p, std::size_t& count) {
  std::ifstream f(p, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // Echoed first, so the input that crashes is the last one named in the log.
  std::fprintf(stderr, "# %s (%zu bytes)\n", p.c_str(), bytes.size());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  ++count;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::size_t count = 0;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    if (fs::is_directory(arg)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(arg))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) replay(f, count);
    } else if (fs::is_regular_file(arg)) {
      replay(arg, count);
    } else {
      std::fprintf(stderr, "error: %s: no such file or folder\n", argv[i]);
      return 2;
    }
  }
  if (count == 0) {
    std::fprintf(stderr, "error: no inputs replayed\n");
    return 2;
  }
  std::printf("# replayed %zu inputs, none crashed\n", count);
  return 0;
}
