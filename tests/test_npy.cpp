// test_npy.cpp: .npy writing is byte-identical to numpy.save; reading rejects every malformed file
// with an InputError naming it.
#include <doctest/doctest.h>

#include <cstring>

#include "common/error.hpp"
#include "common/npy.hpp"
#include "test_util.hpp"

using namespace hrm;
using hrm_test::TempDir;

TEST_CASE("npy header: numpy's exact bytes for a 2-D uint8 array (HRM-SPEC 11.2 item 1)") {
  const std::string h = npy_header(DType::U8, {1000, 81});
  CHECK(h.size() == 128);
  CHECK(h.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  CHECK(static_cast<unsigned char>(h[8]) == 118);
  CHECK(h[9] == 0);
  const std::string dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (1000, 81), }";
  CHECK(h.substr(10, dict.size()) == dict);
  CHECK(h.find_first_not_of(' ', 10 + dict.size()) == 127);
  CHECK(h.back() == '\n');
}

TEST_CASE("npy header: 1-D shapes print with a trailing comma") {
  const std::string h = npy_header(DType::I32, {1001});
  CHECK(h.find("'shape': (1001,), }") != std::string::npos);
  CHECK(h.find("'descr': '<i4'") != std::string::npos);
  CHECK(h.size() % 64 == 0);
}

TEST_CASE("npy round trip for |u1, <i4 and <i8") {
  TempDir d;
  std::vector<std::uint8_t> u{1, 2, 3, 4, 5, 6};
  std::vector<std::int32_t> i4{0, -1, 7, 2147483647};
  std::vector<std::int64_t> i8{5, -5, 1LL << 40};
  write_npy(d / "u.npy", {2, 3}, u);
  write_npy(d / "i4.npy", {4}, i4);
  write_npy(d / "i8.npy", {3}, i8);
  auto a = NpyArray::open(d / "u.npy");
  CHECK(a.dtype() == DType::U8);
  CHECK(a.shape() == std::vector<std::int64_t>{2, 3});
  CHECK(a.at(4) == 5);
  CHECK(NpyArray::open(d / "i4.npy").to_int64() == std::vector<std::int64_t>{0, -1, 7, 2147483647});
  CHECK(NpyArray::open(d / "i8.npy").to_int64() == i8);
}

TEST_CASE("npy bad input: wrong magic, unsupported dtype, Fortran order, truncated data") {
  TempDir d;
  std::vector<std::uint8_t> u(10, 1);
  write_npy(d / "ok.npy", {2, 5}, u);
  const std::string good = hrm_test::read_file(d / "ok.npy");

  hrm_test::write_file(d / "magic.npy", "\x92" + good.substr(1));
  CHECK_THROWS_WITH_AS(NpyArray::open(d / "magic.npy"), doctest::Contains("wrong magic"), InputError);

  std::string f4 = good;
  f4.replace(f4.find("|u1"), 3, "<f4");
  hrm_test::write_file(d / "dtype.npy", f4);
  CHECK_THROWS_WITH_AS(NpyArray::open(d / "dtype.npy"), doctest::Contains("'<f4' is not supported"), InputError);

  std::string fo = good;
  fo.replace(fo.find("False"), 5, "True ");
  hrm_test::write_file(d / "fortran.npy", fo);
  CHECK_THROWS_WITH_AS(NpyArray::open(d / "fortran.npy"), doctest::Contains("Fortran order"), InputError);

  hrm_test::write_file(d / "trunc.npy", good.substr(0, good.size() - 3));
  CHECK_THROWS_WITH_AS(NpyArray::open(d / "trunc.npy"), doctest::Contains("truncated"), InputError);

  std::string shape = good;
  shape.replace(shape.find("(2, 5)"), 6, "(3, 5)");
  hrm_test::write_file(d / "shape.npy", shape);
  CHECK_THROWS_WITH_AS(NpyArray::open(d / "shape.npy"), doctest::Contains("needs 15 bytes"), InputError);

  CHECK_THROWS_WITH_AS(NpyArray::open(d / "missing.npy"), doctest::Contains("missing.npy"), InputError);
}

// Found by fuzz_npy (tests/fuzz/corpus/npy/regress-shape-product-overflow.npy): the element count
// was formed as a plain int64 product, so a header shape overflowed (UB) before the size check.
TEST_CASE("npy fuzz regression: a shape whose byte count overflows int64 is an InputError, a zero dimension is an empty array") {
  TempDir d;
  hrm_test::write_file(d / "huge.npy", npy_header(DType::I32, {3037000500, 3037000500}));
  CHECK_THROWS_WITH_AS(NpyArray::open(d / "huge.npy"), doctest::Contains("needs more than 2^63 bytes"), InputError);
  hrm_test::write_file(d / "huge2.npy", npy_header(DType::I64, {31691500, 1, 46666666666600, 40, 44}));
  CHECK_THROWS_WITH_AS(NpyArray::open(d / "huge2.npy"), doctest::Contains("huge2.npy"), InputError);
  hrm_test::write_file(d / "empty.npy", npy_header(DType::I32, {4611686018427387904LL, 4611686018427387904LL, 0}));
  const NpyArray e = NpyArray::open(d / "empty.npy");
  CHECK(e.size() == 0);
  CHECK(e.to_int64().empty());
  // Found by fuzz_npy (regress-u1-zero-width-row.npy): a (3, 0) u8 array copied its empty rows with
  // memcpy into the null data() of an empty vector.
  write_npy(d / "w0.npy", {3, 0}, std::vector<std::uint8_t>{});
  const NpyArray w0 = NpyArray::open(d / "w0.npy");
  std::vector<std::uint8_t> row;
  for (std::int64_t r = 0; r < 3; ++r) w0.copy_row_u8(r, row.data());
  CHECK(w0.size() == 0);
}

TEST_CASE("npy bytes equal numpy.save's (needs Debian python3-numpy)") {
  if (!hrm_test::have_numpy()) { MESSAGE("python3-numpy missing: skipped"); return; }
  TempDir d;
  std::vector<std::uint8_t> u(1000 * 81);
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = static_cast<std::uint8_t>(i % 11);
  std::vector<std::int32_t> idx(1001);
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<std::int32_t>(i);
  std::vector<std::int64_t> big{1, 2, 3};
  write_npy(d / "u.npy", {1000, 81}, u);
  write_npy(d / "idx.npy", {1001}, idx);
  write_npy(d / "big.npy", {3}, big);
  const std::string py = std::string(HRM_PYTHON) + " -c \"import numpy as np, sys; d=sys.argv[1];"
      "np.save(d+'/u_np.npy', (np.arange(81000) % 11).astype(np.uint8).reshape(1000, 81));"
      "np.save(d+'/idx_np.npy', np.arange(1001, dtype=np.int32));"
      "np.save(d+'/big_np.npy', np.array([1,2,3], dtype=np.int64))\" " + d.path.string();
  REQUIRE(hrm_test::run(py).code == 0);
  CHECK(hrm_test::read_file(d / "u.npy") == hrm_test::read_file(d / "u_np.npy"));
  CHECK(hrm_test::read_file(d / "idx.npy") == hrm_test::read_file(d / "idx_np.npy"));
  CHECK(hrm_test::read_file(d / "big.npy") == hrm_test::read_file(d / "big_np.npy"));
}
