// fuzz_metrics_jsonl.cpp: a run directory's logs as `hrm report` reads them (reports/run_report.cpp,
// read_run_dir, then render_run_report). Input: metrics.jsonl, optionally a NUL byte and eval.jsonl,
// optionally another NUL and run.json (a valid run.json is used when it is absent). A run that
// reads is also rendered, so the non-finite and cut-short-line paths reach the plots.
#include <filesystem>
#include <string_view>

#include "reports/run_report.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

constexpr std::string_view kRunJson =
    "{\"format_version\": 1, \"status\": \"finished\", \"config\": \"c.toml\", \"total_steps\": 10, \"world_size\": 1}\n";

void put(const std::filesystem::path& dir, const char* name, std::string_view text) {
  hrm_fuzz::write_input((dir.filename() / name).string(), reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path dir = hrm_fuzz::scratch_dir() / "run";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir);
  const std::size_t a = in.find('\0');
  put(dir, "metrics.jsonl", in.substr(0, a));
  if (a != std::string_view::npos) {
    const std::size_t b = in.find('\0', a + 1);
    put(dir, "eval.jsonl", in.substr(a + 1, b == std::string_view::npos ? std::string_view::npos : b - a - 1));
    put(dir, "run.json", b == std::string_view::npos ? kRunJson : in.substr(b + 1));
  } else {
    put(dir, "run.json", kRunJson);
  }
  hrm_fuzz::accept_input_errors([&] {
    const hrm::RunData run = hrm::read_run_dir(dir.string());
    (void)hrm::render_run_report(run, 16);
  });
  return 0;
}
