// test_numpy_random.cpp: datasets/numpy_random reproduces np.random.Generator(np.random.Philox(s))
// value for value: SeedSequence keys, raw Philox words, permutation, integers, and the 32-bit
// buffering. NumPy's outputs come from tests/reference/numpy_random_reference.py at test time.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "datasets/numpy_random.hpp"
#include "test_util.hpp"

using namespace hrm;
using nlohmann::json;

namespace {

// NumPy's reference values, generated once per test run; null when numpy is missing.
const json& numpy_reference() {
  static const json ref = [] {
    if (!hrm_test::have_numpy()) return json();
    hrm_test::TempDir d;
    const auto r = hrm_test::run(std::string(HRM_PYTHON) + " " + hrm_test::source_dir() +
                                 "/tests/reference/numpy_random_reference.py " + (d / "ref.json"));
    REQUIRE_MESSAGE(r.code == 0, r.out);
    return json::parse(hrm_test::read_file(d / "ref.json"));
  }();
  return ref;
}

#define REQUIRE_NUMPY_REFERENCE()                                                  \
  if (numpy_reference().is_null()) {                                               \
    MESSAGE("python3-numpy missing: skipped");                                     \
    return;                                                                        \
  }

}  // namespace

TEST_CASE("Philox(seed) key = SeedSequence(seed).generate_state(2, uint64), for one- and two-word seeds") {
  REQUIRE_NUMPY_REFERENCE();
  const json& ref = numpy_reference();
  for (std::size_t i = 0; i < ref["seeds"].size(); ++i) {
    const auto seed = ref["seeds"][i].get<std::uint64_t>();
    const auto w = seed_sequence_generate_state(seed_sequence_words(seed), 4);
    CAPTURE(seed);
    CHECK((w[0] | (std::uint64_t{w[1]} << 32)) == ref["key"][i][0].get<std::uint64_t>());
    CHECK((w[2] | (std::uint64_t{w[3]} << 32)) == ref["key"][i][1].get<std::uint64_t>());
  }
}

TEST_CASE("SeedSequence mixes entropy longer and shorter than its 4-word pool as NumPy does") {
  REQUIRE_NUMPY_REFERENCE();
  const json& ref = numpy_reference();
  for (std::size_t i = 0; i < ref["entropies"].size(); ++i) {
    const auto entropy = ref["entropies"][i].get<std::vector<std::uint32_t>>();
    CHECK(seed_sequence_generate_state(entropy, 8) == ref["generate_state"][i].get<std::vector<std::uint32_t>>());
  }
}

TEST_CASE("Philox4x64-10: random_raw words equal NumPy's, block after block") {
  REQUIRE_NUMPY_REFERENCE();
  const json& ref = numpy_reference();
  for (std::size_t i = 0; i < ref["seeds"].size(); ++i) {
    NumpyPhilox rng(ref["seeds"][i].get<std::uint64_t>());
    std::vector<std::uint64_t> raw;
    for (std::size_t k = 0; k < ref["raw"][i].size(); ++k) raw.push_back(rng.next_uint64());
    CHECK(raw == ref["raw"][i].get<std::vector<std::uint64_t>>());
  }
}

TEST_CASE("permutation(n) equals NumPy's for n = 1, 2, 3, 10, 1000, 100000 drawn in sequence") {
  REQUIRE_NUMPY_REFERENCE();
  const json& ref = numpy_reference();
  for (std::size_t i = 0; i < ref["seeds"].size(); ++i) {
    NumpyPhilox rng(ref["seeds"][i].get<std::uint64_t>());
    for (std::size_t k = 0; k < ref["sizes"].size(); ++k) {
      const auto n = ref["sizes"][k].get<std::int64_t>();
      CAPTURE(n);
      CHECK(rng.permutation(n) == ref["permutation"][i][k].get<std::vector<std::int64_t>>());
    }
  }
}

TEST_CASE("integers(lo, hi): 32-bit Lemire below 2^32 values, 64-bit above, nothing drawn for one value") {
  REQUIRE_NUMPY_REFERENCE();
  const json& ref = numpy_reference();
  const auto per_range = ref["draws_per_range"].get<int>();
  for (std::size_t i = 0; i < ref["seeds"].size(); ++i) {
    NumpyPhilox rng(ref["seeds"][i].get<std::uint64_t>());
    for (std::size_t k = 0; k < ref["ranges"].size(); ++k) {
      const auto lo = ref["ranges"][k][0].get<std::int64_t>(), hi = ref["ranges"][k][1].get<std::int64_t>();
      CAPTURE(lo);
      CAPTURE(hi);
      std::vector<std::int64_t> got;
      for (int d = 0; d < per_range; ++d) got.push_back(rng.integers(lo, hi));
      CHECK(got == ref["integers"][i][k].get<std::vector<std::int64_t>>());
    }
  }
}

TEST_CASE("32-bit draws split a 64-bit word, low half first, the high half survives a random_raw") {
  REQUIRE_NUMPY_REFERENCE();
  const json& ref = numpy_reference();
  for (std::size_t i = 0; i < ref["seeds"].size(); ++i) {
    NumpyPhilox rng(ref["seeds"][i].get<std::uint64_t>());
    std::vector<std::uint64_t> got;
    got.push_back(static_cast<std::uint64_t>(rng.integers(0, 7)));
    got.push_back(rng.next_uint64());
    got.push_back(static_cast<std::uint64_t>(rng.integers(0, 7)));
    got.push_back(static_cast<std::uint64_t>(rng.integers(0, std::int64_t{1} << 40)));
    got.push_back(static_cast<std::uint64_t>(rng.integers(0, 7)));
    for (auto v : rng.permutation(5)) got.push_back(static_cast<std::uint64_t>(v));
    got.push_back(rng.next_uint64());
    got.push_back(static_cast<std::uint64_t>(rng.integers(0, 1001)));
    CHECK(got == ref["mixed"][i].get<std::vector<std::uint64_t>>());
  }
}

TEST_CASE("a one-value range returns lo and draws nothing (NumPy's rng == 0 case)") {
  NumpyPhilox a(7), b(7);
  CHECK(a.integers(41, 42) == 41);
  CHECK(a.next_uint64() == b.next_uint64());
}
