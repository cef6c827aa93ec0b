// npy.cpp: .npy format 1.0/2.0/3.0 reading, format 1.0 writing (what numpy.save writes).
#include "common/npy.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "common/error.hpp"

namespace hrm {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;
constexpr std::size_t kAlign = 64;            // numpy ARRAY_ALIGN
constexpr std::size_t kGrowthAxisDigits = 21; // numpy GROWTH_AXIS_MAX_DIGITS

std::string shape_repr(const std::vector<std::int64_t>& shape) {
  if (shape.empty()) return "()";
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Minimal strict parser for the header dict numpy writes: {'descr': ..., 'fortran_order': ...,
// 'shape': (...), } in any key order.
struct HeaderParser {
  const std::string& s;
  const std::string& path;
  std::size_t i = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(path, fmt::format("malformed .npy header at byte {} of the dict: {}", i, what),
                     "the file is not a NumPy .npy array; rebuild the dataset");
  }
  void ws() { while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i; }
  void expect(char c) {
    ws();
    if (i >= s.size() || s[i] != c) fail(fmt::format("expected '{}'", c));
    ++i;
  }
  bool peek(char c) { ws(); return i < s.size() && s[i] == c; }
  std::string quoted() {
    ws();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) fail("expected a quoted string");
    char q = s[i++];
    auto end = s.find(q, i);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s.substr(i, end - i);
    i = end + 1;
    return out;
  }
  std::string word() {
    ws();
    std::size_t b = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(b, i - b);
  }
  std::vector<std::int64_t> tuple() {
    expect('(');
    std::vector<std::int64_t> out;
    while (!peek(')')) {
      ws();
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(s.data() + i, s.data() + s.size(), v);
      if (ec != std::errc() || v < 0) fail("expected a non-negative integer in shape");
      i = static_cast<std::size_t>(p - s.data());
      out.push_back(v);
      if (peek(',')) ++i; else if (!peek(')')) fail("expected ',' or ')' in shape");
    }
    ++i;
    return out;
  }
};

// elem_bytes times the product of `shape` into `out`; false when it overflows int64. A zero
// dimension makes it 0 whatever the others are (the product is not formed left to right).
bool shape_bytes(const std::vector<std::int64_t>& shape, std::int64_t elem_bytes, std::int64_t& out) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) { out = 0; return true; }
  std::int64_t n = elem_bytes;
  for (auto d : shape)
    if (__builtin_mul_overflow(n, d, &n)) return false;
  out = n;
  return true;
}

}  // namespace

std::string dtype_descr(DType t) {
  switch (t) {
    case DType::U8: return "|u1";
    case DType::I32: return "<i4";
    case DType::I64: return "<i8";
    case DType::F32: return "<f4";
  }
  return "?";
}

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::U8: return 1;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::F32: return 4;
  }
  return 0;
}

std::string npy_header(DType dtype, const std::vector<std::int64_t>& shape) {
  // numpy: keys sorted, "'%s': %r, ", then '}', then 21 - len(repr(shape[0])) spaces of growth room.
  std::string dict = "{'descr': '" + dtype_descr(dtype) + "', 'fortran_order': False, 'shape': " +
                     shape_repr(shape) + ", }";
  if (!shape.empty()) dict.append(kGrowthAxisDigits - std::to_string(shape[0]).size(), ' ');
  const std::size_t hlen = dict.size() + 1;  // + '\n'
  const std::size_t pad = kAlign - ((kMagicLen + 2 + 2 + hlen) % kAlign);
  const std::size_t total_len = hlen + pad;
  HRM_CHECK(total_len <= 0xFFFF, "npy header too long");
  std::string out(kMagic, kMagicLen);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(total_len & 0xFF);
  out += static_cast<char>((total_len >> 8) & 0xFF);
  out += dict;
  out.append(pad, ' ');
  out += '\n';
  return out;
}

void write_npy(const std::string& path, DType dtype, const std::vector<std::int64_t>& shape,
               const void* data) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw InputError(path, fmt::format("cannot open for writing: {}", std::strerror(errno)));
  const std::string h = npy_header(dtype, shape);
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n * dtype_size(dtype)));
  if (!f) throw InputError(path, "write failed (disk full?)");
}

NpyArray NpyArray::open(const std::string& path) {
  NpyArray a;
  a.path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path, fmt::format("cannot open: {}", std::strerror(errno)),
                               "build the dataset with `hrm data build ...` or fix data.path");
  struct stat st {};
  if (::fstat(fd, &st) != 0) { ::close(fd); throw InputError(path, "cannot stat"); }
  const std::size_t len = static_cast<std::size_t>(st.st_size);
  if (len < kMagicLen + 4) { ::close(fd); throw InputError(path, fmt::format("file is {} bytes, too short for a .npy header", len)); }
  void* m = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw InputError(path, fmt::format("cannot map: {}", std::strerror(errno)));
  a.map_ = m;
  a.map_len_ = len;
  const auto* b = static_cast<const std::uint8_t*>(m);
  if (std::memcmp(b, kMagic, kMagicLen) != 0)
    throw InputError(path, "not a .npy file (wrong magic; expected \\x93NUMPY)");
  const int major = b[6];
  std::size_t hlen = 0, hstart = 0;
  if (major == 1) { hlen = b[8] | (b[9] << 8); hstart = 10; }
  else if (major == 2 || major == 3) {
    if (len < 12) throw InputError(path, "truncated .npy header");
    hlen = b[8] | (b[9] << 8) | (std::size_t(b[10]) << 16) | (std::size_t(b[11]) << 24);
    hstart = 12;
  } else throw InputError(path, fmt::format("unsupported .npy format version {}.{}", major, int(b[7])));
  if (hstart + hlen > len) throw InputError(path, "truncated .npy header");
  const std::string dict(reinterpret_cast<const char*>(b + hstart), hlen);

  HeaderParser p{dict, path};
  std::string descr;
  bool fortran = false, have_descr = false, have_order = false, have_shape = false;
  p.expect('{');
  while (!p.peek('}')) {
    const std::string key = p.quoted();
    p.expect(':');
    if (key == "descr") { descr = p.quoted(); have_descr = true; }
    else if (key == "fortran_order") {
      const std::string w = p.word();
      if (w != "True" && w != "False") p.fail("fortran_order must be True or False");
      fortran = (w == "True"); have_order = true;
    } else if (key == "shape") { a.shape_ = p.tuple(); have_shape = true; }
    else p.fail("unexpected key '" + key + "'");
    if (p.peek(',')) ++p.i; else if (!p.peek('}')) p.fail("expected ',' or '}'");
  }
  if (!have_descr || !have_order || !have_shape) p.fail("missing descr, fortran_order or shape");
  if (fortran) throw InputError(path, "array is in Fortran order; expected C order", "save with np.save of a C-contiguous array");
  if (descr == "|u1" || descr == "<u1") a.dtype_ = DType::U8;
  else if (descr == "<i4") a.dtype_ = DType::I32;
  else if (descr == "<i8") a.dtype_ = DType::I64;
  else throw InputError(path, fmt::format("dtype '{}' is not supported; expected |u1, <i4 or <i8", descr));

  const std::size_t data_off = hstart + hlen;
  std::int64_t need_bytes = 0;
  if (!shape_bytes(a.shape_, static_cast<std::int64_t>(dtype_size(a.dtype_)), need_bytes))
    throw InputError(path, fmt::format("shape {} of {} needs more than 2^63 bytes; the file holds {}", shape_repr(a.shape_),
                                       descr, len - data_off),
                     "the header's shape is corrupt: write the array again with np.save");
  const std::size_t need = static_cast<std::size_t>(need_bytes);
  if (len - data_off != need)
    throw InputError(path, fmt::format("data is {} bytes but shape {} of {} needs {} bytes{}",
                                       len - data_off, shape_repr(a.shape_), descr, need,
                                       len - data_off < need ? " (truncated file)" : " (trailing bytes)"));
  a.data_ = b + data_off;
  return a;
}

NpyArray::NpyArray(NpyArray&& o) noexcept { *this = std::move(o); }
NpyArray& NpyArray::operator=(NpyArray&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(map_, map_len_);
    path_ = std::move(o.path_); dtype_ = o.dtype_; shape_ = std::move(o.shape_);
    map_ = o.map_; map_len_ = o.map_len_; data_ = o.data_;
    o.map_ = nullptr; o.map_len_ = 0; o.data_ = nullptr;
  }
  return *this;
}
NpyArray::~NpyArray() { if (map_) ::munmap(map_, map_len_); }

std::int64_t NpyArray::size() const {
  std::int64_t n = 0;
  shape_bytes(shape_, 1, n);  // open() checked that it fits
  return n;
}

std::int64_t NpyArray::at(std::int64_t i) const {
  switch (dtype_) {
    case DType::U8: return data_[i];
    case DType::I32: { std::int32_t v; std::memcpy(&v, data_ + 4 * i, 4); return v; }
    case DType::I64: { std::int64_t v; std::memcpy(&v, data_ + 8 * i, 8); return v; }
    case DType::F32: break;  // never opened for reading (open() rejects <f4)
  }
  return 0;
}

std::vector<std::int64_t> NpyArray::to_int64() const {
  std::vector<std::int64_t> out(static_cast<std::size_t>(size()));
  for (std::int64_t i = 0; i < size(); ++i) out[static_cast<std::size_t>(i)] = at(i);
  return out;
}

void NpyArray::copy_row_u8(std::int64_t row, std::uint8_t* out) const {
  HRM_CHECK(shape_.size() == 2, "{} is not 2-D", path_);
  const std::int64_t w = shape_[1];
  if (w == 0) return;  // a (N, 0) array: `out` may be the null data() of an empty vector (memcpy(nullptr, .., 0) is UB)
  if (dtype_ == DType::U8) { std::memcpy(out, data_ + row * w, static_cast<std::size_t>(w)); return; }
  for (std::int64_t j = 0; j < w; ++j) {
    const std::int64_t v = at(row * w + j);
    if (v < 0 || v > 255)
      throw InputError(path_, fmt::format("token {} at row {}, column {} is outside 0..255", v, row, j));
    out[j] = static_cast<std::uint8_t>(v);
  }
}

}  // namespace hrm
