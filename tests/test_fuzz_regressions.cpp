// test_fuzz_regressions.cpp: crashes the fuzzers of tests/fuzz/ found in readers shared by several
// file formats, each kept as a rule (the reproducer files are in tests/fuzz/corpus/<target>/regress-*
// and replay in fuzz_replay_<target>). Regressions of one parser live beside its other tests
// (test_npy, test_config, test_hrm_yaml).
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>

#include "common/error.hpp"
#include "common/safetensors.hpp"
#include "datasets/arc_task.hpp"
#include "datasets/dataset.hpp"
#include "reports/run_report.hpp"
#include "test_util.hpp"

using namespace hrm;
using hrm_test::TempDir;
using hrm_test::write_file;

namespace {

// The InputError message of `f()`; a different exception (nlohmann's out_of_range was one) fails the test.
template <class F>
std::string input_error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

// Found by fuzz_dataset_json (regress-number-overflow.json): nlohmann's parser throws out_of_range,
// not parse_error, for a number beyond a double ("1e400"), and every reader caught only parse_error.
TEST_CASE("every JSON reader: a number too large for a double is one InputError naming the file") {
  TempDir d;
  const std::string huge = "444444444444444e44444440";
  CHECK(has(input_error_of([&] { metadata_from_json("{\"pad_id\": " + huge + "}", "x/dataset.json"); }), "x/dataset.json: malformed JSON: number overflow parsing"));

  std::filesystem::create_directories(d / "ds");
  write_file(d / "ds/identifiers.json", "[\"<blank>\", " + huge + "]");
  CHECK(has(input_error_of([&] { read_identifiers(d / "ds"); }), "identifiers.json: malformed JSON: number overflow"));

  write_file(d / "task.json", "{\"train\": [{\"input\": [[" + huge + "]], \"output\": [[1]]}], \"test\": []}");
  CHECK(has(input_error_of([&] { read_arc_task(d / "task.json"); }), "task.json: malformed JSON: number overflow"));

  const std::string header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[" + huge + "],\"data_offsets\":[0,1]}}";
  std::string st(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(st.data(), &n, 8);
  write_file(d / "c.safetensors", st + header + "x");
  CHECK(has(input_error_of([&] { SafetensorsFile::open(d / "c.safetensors"); }), "c.safetensors: malformed JSON header: number overflow"));

  std::filesystem::create_directories(d / "run");
  write_file(d / "run/run.json", "{\"format_version\": 1, \"status\": \"finished\", \"config\": \"c.toml\", \"total_steps\": 10, \"world_size\": 1}\n");
  write_file(d / "run/metrics.jsonl", "{\"step\": 1, \"loss\": " + huge + "}\n");
  CHECK(has(input_error_of([&] { read_run_dir(d / "run"); }), "metrics.jsonl:1: not a JSON line: number overflow"));
  write_file(d / "run/metrics.jsonl", "");
  write_file(d / "run/run.json", "{\"format_version\": " + huge + "}");
  CHECK(has(input_error_of([&] { read_run_dir(d / "run"); }), "run.json: not valid JSON: number overflow"));
}
