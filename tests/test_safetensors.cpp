// test_safetensors.cpp: safetensors round trips every dtype, bf16 conversion is PyTorch's, every
// malformed file is one InputError naming it, writes are atomic, files written by Python (by hand
// and by tools/hrm_checkpoint.py from a PyTorch HRM state dict) are read, and the converter
// round-trips torch -> safetensors -> torch exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

#include "common/error.hpp"
#include "common/safetensors.hpp"
#include "test_util.hpp"

using namespace hrm;
using hrm_test::TempDir;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A safetensors file from raw header text and data bytes, for the malformed cases.
std::string raw_file(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  const std::uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);
  return out + json + data;
}

std::string open_error(const std::string& path) {
  try {
    SafetensorsFile::open(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

template <class T>
std::vector<std::uint8_t> as_bytes(const std::vector<T>& v) {
  std::vector<std::uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

template <class T>
std::vector<std::uint8_t> span_bytes(std::span<const T> s) {
  return {s.begin(), s.end()};
}

std::vector<std::string> folder_listing(const std::filesystem::path& d) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(d)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string py() { return HRM_PYTHON; }
std::string tool() { return py() + " " + hrm_test::source_dir() + "/tools/hrm_checkpoint.py"; }

}  // namespace

TEST_CASE("safetensors round trip of every dtype: F64, F32, BF16, F16, I64, I32, U8, BOOL, empty and scalar") {
  TempDir d;
  const std::vector<double> f64{1.5, -2.25, 1e300, std::numeric_limits<double>::denorm_min(), -0.0,
                                std::numeric_limits<double>::infinity()};
  const std::vector<float> f32{0.1f, -3.0f, 1e-42f};
  const std::vector<float> to_bf16{1.0f, -5.0f, 0.1f, 3.0e38f};
  // F16 is read only: 1, -2, 65504 (largest), 2^-24 (smallest subnormal), 1/3 rounded, -inf
  const std::vector<std::uint16_t> f16{0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3555, 0xFC00};
  const std::vector<float> f16_values{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), 0.333251953125f,
                                      -std::numeric_limits<float>::infinity()};
  const std::vector<std::int64_t> i64{-7, std::int64_t{1} << 40, std::numeric_limits<std::int64_t>::max()};
  const std::vector<std::int32_t> i32{-1, 2147483647, std::numeric_limits<std::int32_t>::min(), 5};
  const std::vector<std::uint8_t> u8{0, 255, 7};
  const std::vector<std::uint8_t> boolean{0, 1, 1, 0};
  const std::vector<float> scalar{42.0f};

  SafetensorsWriter w;
  w.add<double>("f64", {2, 3}, f64);
  w.add<float>("f32", {3}, f32);
  w.add_bf16("bf16", {2, 2}, to_bf16);
  w.add("f16", StDType::F16, {6}, f16.data(), f16.size() * 2);
  w.add<std::int64_t>("i64", {3}, i64);
  w.add<std::int32_t>("i32", {2, 2}, i32);
  w.add<std::uint8_t>("u8", {3}, u8);
  w.add_owned("bool", StDType::BOOL, {4}, boolean);
  w.add("empty", StDType::F32, {0, 4}, nullptr, 0);
  w.add<float>("scalar", {}, scalar);
  w.set_metadata("format", "test-1");
  w.set_metadata("note", "\"quoted\" and unicode \xc3\xa9");
  w.write(d / "all.safetensors");

  const auto f = SafetensorsFile::open(d / "all.safetensors");
  CHECK(f.names() == std::vector<std::string>{"bf16", "bool", "empty", "f16", "f32", "f64", "i32", "i64", "scalar", "u8"});
  CHECK(f.info("f64").dtype == StDType::F64);
  CHECK(f.info("f64").shape == std::vector<std::int64_t>{2, 3});
  CHECK(span_bytes(f.bytes("f64")) == as_bytes(f64));
  CHECK(span_bytes(f.bytes("f32")) == as_bytes(f32));
  CHECK(span_bytes(f.bytes("f16")) == as_bytes(f16));
  CHECK(span_bytes(f.bytes("i64")) == as_bytes(i64));
  CHECK(span_bytes(f.bytes("i32")) == as_bytes(i32));
  CHECK(span_bytes(f.bytes("u8")) == u8);
  CHECK(span_bytes(f.bytes("bool")) == boolean);
  CHECK(f.info("bf16").dtype == StDType::BF16);
  CHECK(f.info("f16").dtype == StDType::F16);
  CHECK(f.info("bool").dtype == StDType::BOOL);
  CHECK(f.info("empty").shape == std::vector<std::int64_t>{0, 4});
  CHECK(f.info("scalar").shape.empty());

  // Same-type reads are bit-exact (memcmp also covers -0.0, inf, subnormals).
  const auto r64 = f.read_as<double>("f64", {2, 3});
  CHECK(std::memcmp(r64.data(), f64.data(), 48) == 0);
  CHECK(f.read_as<float>("f32", {3}) == f32);
  CHECK(f.read_as<std::int64_t>("i64", {3}) == i64);
  CHECK(f.read_as<std::int32_t>("i32", {2, 2}) == i32);
  CHECK(f.read_as<std::uint8_t>("u8", {3}) == u8);
  CHECK(f.read_as<float>("empty", {0, 4}).empty());
  CHECK(f.read_as<float>("scalar", {}) == scalar);
  // Conversions: the floating dtypes widen exactly, integers convert, BOOL reads as 0/1.
  const auto bf = f.read_as<float>("bf16", {2, 2});
  CHECK(bf == std::vector<float>{1.0f, -5.0f, 0.10009765625f, 3.00405527e38f});
  CHECK(f.read_as<float>("f16", {6}) == f16_values);
  CHECK(f.read_as<double>("f32", {3}) == std::vector<double>{0.1f, -3.0f, 1e-42f});
  CHECK(f.read_as<double>("i32", {2, 2}) == std::vector<double>{-1, 2147483647, -2147483648.0, 5});
  CHECK(f.read_as<std::int64_t>("bool", {4}) == std::vector<std::int64_t>{0, 1, 1, 0});
  CHECK(f.read_as<std::int64_t>("u8", {3}) == std::vector<std::int64_t>{0, 255, 7});

  CHECK(f.metadata("format") == std::optional<std::string>("test-1"));
  CHECK(f.metadata("note") == std::optional<std::string>("\"quoted\" and unicode \xc3\xa9"));
  CHECK(!f.metadata("absent"));
  CHECK(f.metadata().size() == 2);

  // Larger elements first, header padded to 8: each tensor is aligned for its dtype in the mapping.
  for (const auto& name : f.names()) {
    const auto addr = reinterpret_cast<std::uintptr_t>(f.bytes(name).data());
    CHECK_MESSAGE(addr % st_dtype_size(f.info(name).dtype) == 0, name);
  }
  CHECK((w.header().size() % 8) == 0);
}

TEST_CASE("read_as: wrong shape, missing tensor, floats read as integers and out-of-range integers are InputErrors") {
  TempDir d;
  const std::vector<float> f32{1, 2, 3};
  const std::vector<std::int64_t> big{1, std::int64_t{1} << 40};
  SafetensorsWriter w;
  w.add<float>("x", {3}, f32);
  w.add<std::int64_t>("big", {2}, big);
  w.add_owned("bad_bool", StDType::BOOL, {2}, {1, 2});
  const std::string p = d / "m.safetensors";
  w.write(p);
  const auto f = SafetensorsFile::open(p);
  CHECK_THROWS_WITH_AS(f.read_as<float>("x", {2, 2}), (p + ": tensor 'x' has shape (3,), expected (2, 2)").c_str(),
                       InputError);
  CHECK_THROWS_WITH_AS(f.read_as<float>("nope", {3}), (p + ": missing tensor 'nope'").c_str(), InputError);
  CHECK_THROWS_WITH_AS(f.info("nope"), doctest::Contains("missing tensor 'nope'"), InputError);
  CHECK_THROWS_WITH_AS(f.read_as<std::int32_t>("x", {3}), doctest::Contains("is F32; expected an integer dtype"),
                       InputError);
  CHECK_THROWS_WITH_AS(f.read_as<std::int32_t>("big", {2}), doctest::Contains("does not fit"), InputError);
  CHECK(f.read_as<std::int64_t>("big", {2}) == big);
  CHECK_THROWS_WITH_AS(f.read_as<std::uint8_t>("bad_bool", {2}), doctest::Contains("not 0 or 1"), InputError);
}

TEST_CASE("bf16: float -> bf16 rounds to nearest even like PyTorch, bf16 -> float is exact") {
  CHECK(float_to_bf16(1.0f) == 0x3F80);
  CHECK(float_to_bf16(-5.0f) == 0xC0A0);
  CHECK(float_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);                          // tie: down to even
  CHECK(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3F82);                      // tie: up to even
  CHECK(float_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 0x3F81);  // above the tie
  CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);                    // rounds to inf
  CHECK(float_to_bf16(-std::numeric_limits<float>::infinity()) == 0xFF80);
  CHECK(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(float_to_bf16(std::bit_cast<float>(0x7F800001u)) != 0x7F80);  // a NaN whose top bits look like inf
  // Every bf16 value widens exactly and narrows back to itself.
  int mismatches = 0;
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float x = bf16_to_float(static_cast<std::uint16_t>(h));
    CHECK(std::bit_cast<std::uint32_t>(x) == h << 16);
    if (!std::isnan(x) && float_to_bf16(x) != h) ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("f16 widening is exact for normals, subnormals, infinities and NaN") {
  CHECK(f16_to_float(0x3C00) == 1.0f);
  CHECK(f16_to_float(0x0400) == std::ldexp(1.0f, -14));  // smallest normal
  CHECK(f16_to_float(0x03FF) == 1023 * std::ldexp(1.0f, -24));
  CHECK(f16_to_float(0x8000) == 0.0f);
  CHECK(std::signbit(f16_to_float(0x8000)));
  CHECK(f16_to_float(0x7C00) == std::numeric_limits<float>::infinity());
  CHECK(std::isnan(f16_to_float(0x7E00)));
  CHECK(f16_to_float(0xC155) == -2.666015625f);
}

TEST_CASE("malformed safetensors files are one InputError naming the file and what was expected") {
  TempDir d;
  const std::string a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string b = R"("b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]})";
  const std::string data11(11, '\x01');
  struct Case {
    const char* name;
    std::string content;
    const char* expected;
  };
  const std::vector<Case> cases{
      {"ok", raw_file("{" + a + "," + b + "}", data11), "(no error)"},
      {"empty", "", "truncated file: 0 bytes"},
      {"short", std::string("\x05\x00\x00", 3), "truncated file: 3 bytes"},
      {"header_length", raw_file("{" + a + "}", "12345678").substr(0, 8) + "{}", "header length"},
      {"truncated_data", raw_file("{" + a + "," + b + "}", data11.substr(0, 9)),
       "tensor 'b': data_offsets [8, 11] go beyond the data section (9 bytes; truncated file?)"},
      {"json", raw_file(R"({"a":{"dtype":"F32",)", ""), "malformed JSON header"},
      {"json_text", raw_file("not json at all", ""), "malformed JSON header"},
      {"not_object", raw_file("[1, 2]", ""), "the JSON header is not an object"},
      {"entry_not_object", raw_file(R"({"a":[0,8]})", "12345678"), "tensor 'a': header entry is not an object"},
      {"dtype", raw_file(R"({"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", "12"),
       "tensor 'a': unknown dtype 'F8_E4M3'; expected one of F64, F32, BF16, F16, I64, I32, U8, BOOL"},
      {"span", raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "12345678"),
       "tensor 'a': shape (3,) of F32 needs 12 bytes but data_offsets [0, 8] span 8"},
      {"huge_shape", raw_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", "12345678"),
       "is larger than the file"},
      {"negative_shape", raw_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "12345678"),
       "non-negative integers"},
      {"float_shape", raw_file(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", "12345678"),
       "non-negative integers"},
      {"reversed_offsets", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", "12345678"),
       "data_offsets must be [begin, end]"},
      {"three_offsets", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", "12345678"),
       "data_offsets must be [begin, end]"},
      {"out_of_bounds", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[100,108]}})", "12345678"),
       "tensor 'a': data_offsets [100, 108] go beyond the data section (8 bytes"},
      {"overlap", raw_file("{" + a + R"(,"b":{"dtype":"U8","shape":[3],"data_offsets":[6,9]}})", data11.substr(0, 9)),
       "tensors 'a' and 'b' overlap (data_offsets [0, 8] and [6, 9])"},
      {"gap", raw_file("{" + a + R"(,"b":{"dtype":"U8","shape":[3],"data_offsets":[9,12]}})", data11 + "x"),
       "1 unused bytes before tensor 'b'"},
      {"trailing", raw_file("{" + a + "," + b + "}", data11 + "xyz"), "3 bytes after the last tensor"},
      {"duplicate", raw_file("{" + a + "," + a + "}", "12345678"), "duplicate tensor name 'a' in the header"},
      {"duplicate_field", raw_file(R"({"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "12345678"),
       "duplicate key 'dtype' in the header entry 'a'"},
      {"missing_field", raw_file(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", "12345678"),
       "tensor 'a': header entry lacks dtype, shape or data_offsets"},
      {"extra_field", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", "12345678"),
       "tensor 'a': unexpected key 'x'"},
      {"metadata", raw_file(R"({"__metadata__":{"step":5}})", ""), "__metadata__ value of 'step' is not a string"},
      {"metadata_list", raw_file(R"({"__metadata__":["x"]})", ""), "__metadata__ is not an object of strings"},
  };
  for (const auto& c : cases) {
    const std::string p = d / (std::string(c.name) + ".safetensors");
    hrm_test::write_file(p, c.content);
    const std::string err = open_error(p);
    CAPTURE(c.name);
    CAPTURE(err);
    CHECK(contains(err, c.expected));
    if (std::string(c.name) != "ok") CHECK(err.rfind(p + ": ", 0) == 0);  // the message starts with the file
  }
  CHECK(contains(open_error(d / "absent.safetensors"), d / "absent.safetensors: cannot open"));
}

TEST_CASE("damaged files (random byte changes and truncations) open or give an InputError, never crash") {
  TempDir d;
  const std::vector<float> x{1, 2, 3, 4, 5, 6};
  const std::vector<std::int64_t> ids{7, 8};
  SafetensorsWriter w;
  w.add<float>("x", {2, 3}, x);
  w.add<std::int64_t>("ids", {2}, ids);
  w.add_bf16("h", {2}, std::span<const float>(x.data(), 2));
  w.set_metadata("format", "fuzz");
  w.write(d / "good.safetensors");
  const std::string good = hrm_test::read_file(d / "good.safetensors");
  std::mt19937 rng(11);
  int opened = 0, rejected = 0;
  for (int k = 0; k < 3000; ++k) {
    std::string bad = good;
    if (k % 3 == 0) {
      bad.resize(rng() % good.size());
    } else {
      for (int e = 0; e < 1 + k % 4; ++e) bad[rng() % bad.size()] = static_cast<char>(rng() % 256);
    }
    const std::string p = d / "bad.safetensors";
    hrm_test::write_file(p, bad);
    try {
      const auto f = SafetensorsFile::open(p);
      for (const auto& n : f.names()) (void)f.read_as<double>(n, f.info(n).shape);
      ++opened;
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).rfind(p + ": ", 0) == 0);
      ++rejected;
    }
  }
  CHECK(opened + rejected == 3000);
  CHECK(rejected > 1000);
}

TEST_CASE("writes are atomic: no temporary left, an old file replaced whole, a failed write leaves nothing") {
  TempDir d;
  const std::vector<float> one{1, 2}, two{3, 4, 5};
  const std::string p = d / "ck.safetensors";
  SafetensorsWriter w1;
  w1.add<float>("x", {2}, one);
  w1.write(p);
  CHECK(folder_listing(d.path) == std::vector<std::string>{"ck.safetensors"});
  SafetensorsWriter w2;
  w2.add<float>("x", {3}, two);
  w2.write(p);
  CHECK(folder_listing(d.path) == std::vector<std::string>{"ck.safetensors"});
  CHECK(SafetensorsFile::open(p).read_as<float>("x", {3}) == two);

  // Writing into a folder that does not exist: the error names the target, nothing appears.
  const std::string nowhere = d / "no/such/folder/ck.safetensors";
  CHECK_THROWS_WITH_AS(w2.write(nowhere), doctest::Contains((nowhere + ": cannot write").c_str()), InputError);
  // The rename onto an existing folder fails after the data was written: the temporary is removed.
  std::filesystem::create_directory(d / "taken");
  CHECK_THROWS_WITH_AS(w2.write(d / "taken"), doctest::Contains("cannot rename into place"), InputError);
  CHECK(folder_listing(d.path) == std::vector<std::string>{"ck.safetensors", "taken"});
  CHECK(SafetensorsFile::open(p).read_as<float>("x", {3}) == two);

  // Programming errors (not bad input) are HRM_CHECK failures.
  SafetensorsWriter w3;
  w3.add<float>("x", {2}, one);
  CHECK_THROWS_AS(w3.add<float>("x", {2}, one), Error);
  CHECK_THROWS_AS(w3.add("y", StDType::F32, {3}, one.data(), 8), Error);
  CHECK_THROWS_AS(w3.add<float>("__metadata__", {2}, one), Error);
}

TEST_CASE("a safetensors file written by hand in Python (unpadded header, unaligned F64) is read") {
  if (hrm_test::run(py() + " -c 'pass'").code != 0) { MESSAGE("python3 missing: skipped"); return; }
  TempDir d;
  const std::string p = d / "py.safetensors";
  const std::string script = R"PY(
import json, struct, sys
bf16 = struct.pack('<3H', 0x3F80, 0xC0A0, 0x3DCD)   # 1, -5, 0.10009765625
f64 = struct.pack('<3d', 1.5, -2.25, 1e300)
f32 = struct.pack('<2f', 0.1, -3.0)
i64 = struct.pack('<2q', -7, 1 << 40)
u8 = bytes([0, 255])
parts = [('h', 'BF16', [3], bf16), ('d', 'F64', [1, 3], f64), ('f', 'F32', [2], f32), ('i', 'I64', [2], i64),
         ('u', 'U8', [2], u8)]
header, data = {'__metadata__': {'format': 'by-hand', 'source': 'python'}}, b''
for name, dtype, shape, raw in parts:
    header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [len(data), len(data) + len(raw)]}
    data += raw
text = json.dumps(header).encode()
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(text)) + text + data)
)PY";
  hrm_test::write_file(d / "make.py", script);
  const auto r = hrm_test::run(py() + " " + (d / "make.py") + " " + p);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const auto f = SafetensorsFile::open(p);
  CHECK(f.read_as<float>("h", {3}) == std::vector<float>{1.0f, -5.0f, 0.10009765625f});
  CHECK(f.read_as<double>("d", {1, 3}) == std::vector<double>{1.5, -2.25, 1e300});
  CHECK(f.read_as<float>("d", {1, 3})[0] == 1.5f);
  CHECK(f.read_as<float>("f", {2}) == std::vector<float>{0.1f, -3.0f});
  CHECK(f.read_as<std::int64_t>("i", {2}) == std::vector<std::int64_t>{-7, std::int64_t{1} << 40});
  CHECK(f.read_as<std::uint8_t>("u", {2}) == std::vector<std::uint8_t>{0, 255});
  CHECK(f.metadata("format") == std::optional<std::string>("by-hand"));
}

// ---------------------------------------------------------------------------------------------
// tools/hrm_checkpoint.py. These need PyTorch; they come last because a missing torch ends the
// executable with 77 (CTest's "skipped", each test case being its own CTest entry).

namespace {

void require_torch() {
  if (hrm_test::run(py() + " -c 'import torch, numpy'").code != 0) {
    MESSAGE("torch (python3-torch) is not importable: skipped");
    std::exit(77);
  }
}

// A fake HRM state dict with HRM's names (HRM-SPEC 7.3): hidden 64, 1 H + 1 L layer, vocab 11,
// puzzle emb 5 x 64, bf16 H_init/L_init, saved as torch.compile'd HRM saves it (`_orig_mod.`).
// Values (((i*37 + k) % 101) - 50) / 64 are exact in bf16 and f32, so C++ recomputes them.
constexpr const char* kMakeStateDict = R"PY(
import collections, sys, torch
D, V, I, P = 64, 11, 256, '_orig_mod.model.inner.'
def val(shape, k):
    n = 1
    for s in shape: n *= s
    return ((((torch.arange(n, dtype=torch.int64) * 37 + k) % 101) - 50).to(torch.float32) / 64).reshape(shape)
sd = collections.OrderedDict()
sd[P + 'H_init'] = val([D], 1).to(torch.bfloat16)
sd[P + 'L_init'] = val([D], 2).to(torch.bfloat16)
sd[P + 'embed_tokens.embedding_weight'] = val([V, D], 3)
sd[P + 'lm_head.weight'] = val([V, D], 4)
sd[P + 'q_head.weight'] = torch.zeros(2, D)
sd[P + 'q_head.bias'] = torch.full((2,), -5.0)
sd[P + 'puzzle_emb.weights'] = val([5, D], 5)
for j, lvl in enumerate('HL'):
    pre = P + lvl + '_level.layers.0.'
    sd[pre + 'self_attn.qkv_proj.weight'] = val([3 * D, D], 10 * j + 6)
    sd[pre + 'self_attn.o_proj.weight'] = val([D, D], 10 * j + 7)
    sd[pre + 'mlp.gate_up_proj.weight'] = val([2 * I, D], 10 * j + 8)
    sd[pre + 'mlp.down_proj.weight'] = val([D, I], 10 * j + 9)
torch.save(sd, sys.argv[1])
# Sidecar for the bf16 check: random and tie-case floats and torch's bf16 bits for them.
g = torch.Generator().manual_seed(0)
x = torch.randn(20000, generator=g) * torch.exp(torch.randn(20000, generator=g) * 20)
ties = torch.tensor([1 + 2.0**-8, 1 + 3 * 2.0**-8, -(1 + 2.0**-8), 3.0e38, float('inf')], dtype=torch.float32)
x = torch.cat([x.float(), ties])
open(sys.argv[2], 'wb').write(x.numpy().tobytes())
open(sys.argv[3], 'wb').write(x.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
)PY";

// Exit 0 when two state dicts have the same keys in the same order, dtypes and values.
constexpr const char* kCompare = R"PY(
import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
if list(a) != list(b):
    sys.exit('keys differ: %s vs %s' % (list(a)[:3], list(b)[:3]))
for k in a:
    if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or not torch.equal(a[k], b[k]):
        sys.exit('%s differs: %s %s vs %s %s' % (k, a[k].dtype, tuple(a[k].shape), b[k].dtype, tuple(b[k].shape)))
)PY";

constexpr const char* kStrip = R"PY(
import collections, sys, torch
sd = torch.load(sys.argv[1])
torch.save(collections.OrderedDict((k[len('_orig_mod.'):], v) for k, v in sd.items()), sys.argv[2])
)PY";

float fake_value(std::int64_t i, int k) { return static_cast<float>(((i * 37 + k) % 101) - 50) / 64.0f; }

std::vector<float> fake(std::int64_t n, int k) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = fake_value(i, k);
  return v;
}

}  // namespace

TEST_CASE("hrm_checkpoint.py: torch -> safetensors -> torch is exact, and the C++ reader reads the weights") {
  require_torch();
  TempDir d;
  const std::string pt = d / "step_100", st = d / "w.safetensors";
  hrm_test::write_file(d / "make.py", kMakeStateDict);
  hrm_test::write_file(d / "compare.py", kCompare);
  hrm_test::write_file(d / "strip.py", kStrip);
  auto r = hrm_test::run(py() + " " + (d / "make.py") + " " + pt + " " + (d / "x.f32") + " " + (d / "x.bf16"));
  REQUIRE_MESSAGE(r.code == 0, r.out);

  r = hrm_test::run(tool() + " to-safetensors " + pt + " " + st);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(folder_listing(d.path) ==
        std::vector<std::string>{"compare.py", "make.py", "step_100", "strip.py", "w.safetensors", "x.bf16", "x.f32"});

  const auto f = SafetensorsFile::open(st);
  CHECK(f.metadata("format") == std::optional<std::string>("hrm-weights-1"));
  CHECK(f.metadata("source") == std::optional<std::string>(pt));
  CHECK(f.names().size() == 15);
  CHECK(!f.has("_orig_mod.model.inner.H_init"));
  CHECK(f.info("model.inner.H_init").dtype == StDType::BF16);
  CHECK(f.info("model.inner.L_init").dtype == StDType::BF16);
  CHECK(f.info("model.inner.lm_head.weight").dtype == StDType::F32);
  CHECK(f.read_as<float>("model.inner.H_init", {64}) == fake(64, 1));
  CHECK(f.read_as<float>("model.inner.L_init", {64}) == fake(64, 2));
  CHECK(f.read_as<float>("model.inner.embed_tokens.embedding_weight", {11, 64}) == fake(11 * 64, 3));
  CHECK(f.read_as<float>("model.inner.lm_head.weight", {11, 64}) == fake(11 * 64, 4));
  CHECK(f.read_as<float>("model.inner.q_head.weight", {2, 64}) == std::vector<float>(128, 0.0f));
  CHECK(f.read_as<float>("model.inner.q_head.bias", {2}) == std::vector<float>{-5.0f, -5.0f});
  CHECK(f.read_as<float>("model.inner.puzzle_emb.weights", {5, 64}) == fake(5 * 64, 5));
  CHECK(f.read_as<float>("model.inner.H_level.layers.0.self_attn.qkv_proj.weight", {192, 64}) == fake(192 * 64, 6));
  CHECK(f.read_as<float>("model.inner.H_level.layers.0.mlp.down_proj.weight", {64, 256}) == fake(64 * 256, 9));
  CHECK(f.read_as<float>("model.inner.L_level.layers.0.mlp.gate_up_proj.weight", {512, 64}) == fake(512 * 64, 18));
  CHECK(f.read_as<double>("model.inner.L_level.layers.0.self_attn.o_proj.weight", {64, 64})[5] == fake_value(5, 17));

  // Back with the prefix: identical to the original, key order included.
  r = hrm_test::run(tool() + " to-torch " + st + " " + (d / "back.pt") + " --compiled-prefix");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = hrm_test::run(py() + " " + (d / "compare.py") + " " + pt + " " + (d / "back.pt"));
  CHECK_MESSAGE(r.code == 0, r.out);
  // Without it: HRM's keys as an uncompiled model saves them.
  REQUIRE(hrm_test::run(py() + " " + (d / "strip.py") + " " + pt + " " + (d / "plain_ref.pt")).code == 0);
  r = hrm_test::run(tool() + " to-torch " + st + " " + (d / "plain.pt"));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = hrm_test::run(py() + " " + (d / "compare.py") + " " + (d / "plain_ref.pt") + " " + (d / "plain.pt"));
  CHECK_MESSAGE(r.code == 0, r.out);
  // And an uncompiled state dict converts to the same safetensors file.
  r = hrm_test::run(tool() + " to-safetensors " + (d / "plain_ref.pt") + " " + (d / "w2.safetensors"));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const auto f2 = SafetensorsFile::open(d / "w2.safetensors");
  CHECK(f2.names() == f.names());
  for (const auto& n : f.names()) CHECK(span_bytes(f2.bytes(n)) == span_bytes(f.bytes(n)));

  // A full hrmkit checkpoint written by the C++ writer: to-torch keeps HRM's weights only.
  SafetensorsWriter w;
  for (const auto& n : f.names()) w.add(n, f.info(n).dtype, f.info(n).shape, f.bytes(n).data(), f.bytes(n).size());
  const std::vector<float> moments(11 * 64, 0.5f);
  w.add<float>("optimizer.m.model.inner.lm_head.weight", {11, 64}, moments);
  w.add<float>("carry.z_H", {11, 64}, moments);
  w.set_metadata("step", "100");
  w.write(d / "full.safetensors");
  r = hrm_test::run(tool() + " to-torch " + (d / "full.safetensors") + " " + (d / "full.pt") + " --compiled-prefix");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = hrm_test::run(py() + " " + (d / "compare.py") + " " + pt + " " + (d / "full.pt"));
  CHECK_MESSAGE(r.code == 0, r.out);

  // float -> bf16 rounds exactly as torch's .to(torch.bfloat16) on 20k random floats and the ties.
  const std::string xf = hrm_test::read_file(d / "x.f32"), xb = hrm_test::read_file(d / "x.bf16");
  REQUIRE(xf.size() == 2 * xb.size());
  int mismatches = 0;
  for (std::size_t i = 0; i < xb.size() / 2; ++i) {
    float x;
    std::uint16_t h;
    std::memcpy(&x, xf.data() + 4 * i, 4);
    std::memcpy(&h, xb.data() + 2 * i, 2);
    if (float_to_bf16(x) != h) ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("hrm_checkpoint.py bad input: exit 2 with one line naming the file") {
  require_torch();
  TempDir d;
  const std::string pt = d / "sd.pt";
  const std::string bad_script = std::string(kMakeStateDict) + R"PY(
d = sys.argv[4]
torch.save([1, 2, 3], d + '/list.pt')
torch.save(collections.OrderedDict([('conv1.weight', torch.zeros(3))]), d + '/other_model.pt')
sd = torch.load(d + '/sd.pt')
del sd['_orig_mod.model.inner.lm_head.weight']
torch.save(sd, d + '/no_lm_head.pt')
sd = torch.load(d + '/sd.pt')
sd['_orig_mod.model.inner.extra'] = torch.zeros(1)
torch.save(sd, d + '/extra.pt')
)PY";
  hrm_test::write_file(d / "bad.py", bad_script);
  REQUIRE(hrm_test::run(py() + " " + (d / "bad.py") + " " + pt + " " + (d / "x.f32") + " " + (d / "x.bf16") + " " +
                        d.path.string()).code == 0);
  hrm_test::write_file(d / "text.pt", "this is not a torch file\n");
  hrm_test::write_file(d / "trunc.safetensors", std::string("\x40\x00\x00\x00\x00\x00\x00\x00{}", 10));

  struct Case {
    std::string args, file, expected;
  };
  const std::vector<Case> cases{
      {"to-safetensors " + (d / "text.pt") + " " + (d / "o.st"), d / "text.pt", "not a PyTorch state dict saved by torch.save"},
      {"to-safetensors " + (d / "list.pt") + " " + (d / "o.st"), d / "list.pt", "not a PyTorch state dict: holds a list"},
      {"to-safetensors " + (d / "other_model.pt") + " " + (d / "o.st"), d / "other_model.pt",
       "not an HRM checkpoint: lacks model.inner.embed_tokens.embedding_weight"},
      {"to-safetensors " + (d / "no_lm_head.pt") + " " + (d / "o.st"), d / "no_lm_head.pt",
       "not an HRM checkpoint: lacks model.inner.lm_head.weight"},
      {"to-safetensors " + (d / "extra.pt") + " " + (d / "o.st"), d / "extra.pt", "unexpected tensor 'model.inner.extra'"},
      {"to-safetensors " + (d / "absent.pt") + " " + (d / "o.st"), d / "absent.pt", "no such file"},
      {"to-safetensors " + pt + " " + (d / "no/folder/o.st"), d / "no/folder/o.st", "cannot write"},
      {"to-torch " + (d / "trunc.safetensors") + " " + (d / "o.pt"), d / "trunc.safetensors", "header length 64 goes beyond"},
      {"to-torch " + pt + " " + (d / "o.pt"), pt, "header length"},
  };
  for (const auto& c : cases) {
    const auto r = hrm_test::run(tool() + " " + c.args);
    CAPTURE(c.args);
    CAPTURE(r.out);
    CHECK(r.code == 2);
    CHECK(contains(r.out, "hrm_checkpoint.py: error: " + c.file + ": " + c.expected));
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
  }
  // Nothing was written for any of them, not even a temporary file.
  for (const auto& name : folder_listing(d.path)) CHECK_MESSAGE(name.find(".tmp") == std::string::npos, name);
  CHECK(!std::filesystem::exists(d / "o.st"));
  CHECK(!std::filesystem::exists(d / "o.pt"));
}
