// safetensors.cpp: safetensors writing (atomic) and strictly validated, memory-mapped reading.
// The checks mirror the reference Rust implementation's (its files are accepted here and ours
// there): tensors fill the data section exactly, in any order, without overlap; data is laid out
// by decreasing element size so every tensor of a mapped file is aligned for its dtype.
#include "common/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/atomic_write.hpp"
#include "common/error.hpp"
#include "common/json_format.hpp"

namespace fs = std::filesystem;

namespace hrm {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little endian; hrmkit copies it as is");

namespace {

constexpr std::string_view kMetadataKey = "__metadata__";
constexpr const char* kHint = "the file is damaged or not a safetensors file; write it again";

struct DTypeRow {
  StDType t;
  std::string_view name;
  std::size_t size;
};
constexpr DTypeRow kDTypes[] = {
    {StDType::F64, "F64", 8}, {StDType::F32, "F32", 4}, {StDType::BF16, "BF16", 2},
    {StDType::F16, "F16", 2}, {StDType::I64, "I64", 8}, {StDType::I32, "I32", 4},
    {StDType::U8, "U8", 1},   {StDType::BOOL, "BOOL", 1},
};

std::string offsets_repr(const StTensorInfo& t) { return fmt::format("[{}, {}]", t.begin, t.end); }

[[noreturn]] void bad_entry(const std::string& path, const std::string& name, const std::string& what) {
  throw InputError(path, fmt::format("tensor '{}': {}", name, what), kHint);
}

// The JSON numbers safetensors allows in shape and data_offsets: non-negative integers.
bool as_size(const nlohmann::json& j, std::size_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<std::uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) {
    out = static_cast<std::size_t>(j.get<std::int64_t>());
    return true;
  }
  return false;
}

// nlohmann::json keeps the last of duplicate keys silently; a parse callback sees every key, so
// a repeated tensor name (or a repeated field inside an entry) is reported instead of dropped.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(const std::string& path) : path_(path) {}
  bool operator()(int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (ev == E::object_start) {
      seen_.emplace_back();
    } else if (ev == E::object_end) {
      seen_.pop_back();
    } else if (ev == E::key) {
      const std::string key = parsed.get<std::string>();
      if (seen_.size() == 1) top_key_ = key;
      if (!seen_.empty() && !seen_.back().insert(key).second) {
        if (seen_.size() == 1)
          throw InputError(path_, fmt::format("duplicate tensor name '{}' in the header", key), kHint);
        throw InputError(path_, fmt::format("duplicate key '{}' in the header entry '{}'", key, top_key_), kHint);
      }
    }
    return true;
  }

 private:
  const std::string& path_;
  std::vector<std::set<std::string>> seen_;
  std::string top_key_;
};

// Element conversion for read_as: floating T takes every dtype; integer T only integer dtypes.
template <class S>
S load(const std::uint8_t* p) {
  S v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
void convert(StDType dt, const std::uint8_t* src, std::size_t n, T* out, const std::string& path,
             const std::string& name) {
  auto cast_int = [&](auto v) -> T {
    if constexpr (std::is_floating_point_v<T>) {
      return static_cast<T>(v);
    } else {
      if (!std::in_range<T>(v))
        throw InputError(path, fmt::format("tensor '{}' holds {}, which does not fit the expected integer type",
                                           name, v));
      return static_cast<T>(v);
    }
  };
  switch (dt) {
    case StDType::I64:
      for (std::size_t i = 0; i < n; ++i) out[i] = cast_int(load<std::int64_t>(src + 8 * i));
      return;
    case StDType::I32:
      for (std::size_t i = 0; i < n; ++i) out[i] = cast_int(load<std::int32_t>(src + 4 * i));
      return;
    case StDType::U8:
      for (std::size_t i = 0; i < n; ++i) out[i] = cast_int(src[i]);
      return;
    case StDType::BOOL:
      for (std::size_t i = 0; i < n; ++i) {
        if (src[i] > 1)
          throw InputError(path, fmt::format("tensor '{}' is BOOL but element {} is the byte {}, not 0 or 1",
                                             name, i, src[i]), kHint);
        out[i] = static_cast<T>(src[i]);
      }
      return;
    default: break;
  }
  if constexpr (!std::is_floating_point_v<T>) {
    throw InputError(path, fmt::format("tensor '{}' is {}; expected an integer dtype (I64, I32, U8 or BOOL)", name,
                                       st_dtype_name(dt)));
  } else {
    switch (dt) {
      case StDType::F64:
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(load<double>(src + 8 * i));
        return;
      case StDType::F32:
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(load<float>(src + 4 * i));
        return;
      case StDType::BF16:
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(bf16_to_float(load<std::uint16_t>(src + 2 * i)));
        return;
      case StDType::F16:
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(f16_to_float(load<std::uint16_t>(src + 2 * i)));
        return;
      default: break;
    }
  }
  HRM_CHECK(false, "unhandled dtype {}", st_dtype_name(dt));
}

template <class T>
constexpr StDType st_dtype_of() {
  if constexpr (std::is_same_v<T, double>) return StDType::F64;
  else if constexpr (std::is_same_v<T, float>) return StDType::F32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return StDType::I64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return StDType::I32;
  else return StDType::U8;
}

// Writes all of `n` bytes, retrying short writes (one write() moves at most ~2 GiB on Linux).
bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<std::size_t>(n, std::size_t{1} << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

std::string_view st_dtype_name(StDType t) {
  for (const auto& r : kDTypes)
    if (r.t == t) return r.name;
  return "?";
}

std::size_t st_dtype_size(StDType t) {
  for (const auto& r : kDTypes)
    if (r.t == t) return r.size;
  return 0;
}

std::optional<StDType> st_dtype_from_name(std::string_view name) {
  for (const auto& r : kDTypes)
    if (r.name == name) return r.t;
  return std::nullopt;
}

std::uint16_t float_to_bf16(float f) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  if (std::isnan(f)) return static_cast<std::uint16_t>((bits >> 16) | 0x0040);  // stay a (quiet) NaN
  const std::uint32_t bias = 0x7FFF + ((bits >> 16) & 1);                      // ties to even
  return static_cast<std::uint16_t>((bits + bias) >> 16);
}

float bf16_to_float(std::uint16_t h) { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

float f16_to_float(std::uint16_t h) {
  const float sign = (h & 0x8000) ? -1.0f : 1.0f;
  const int exp = (h >> 10) & 0x1F;
  const int mant = h & 0x3FF;
  if (exp == 0) return sign * std::ldexp(static_cast<float>(mant), -24);
  if (exp == 31) return mant ? std::numeric_limits<float>::quiet_NaN() : sign * std::numeric_limits<float>::infinity();
  return sign * std::ldexp(static_cast<float>(1024 + mant), exp - 25);
}

std::string st_shape_repr(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

std::int64_t StTensorInfo::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Writer

void SafetensorsWriter::add_entry(const std::string& name, StDType dtype, std::vector<std::int64_t> shape,
                                  const void* data, std::size_t nbytes, std::size_t owned) {
  HRM_CHECK(!name.empty() && name != kMetadataKey, "invalid tensor name '{}'", name);
  for (const auto& e : entries_) HRM_CHECK(e.name != name, "tensor '{}' added twice", name);
  std::size_t numel = 1;
  for (auto d : shape) {
    HRM_CHECK(d >= 0, "tensor '{}' has a negative dimension", name);
    numel *= static_cast<std::size_t>(d);
  }
  HRM_CHECK(numel * st_dtype_size(dtype) == nbytes, "tensor '{}': shape {} of {} needs {} bytes, got {}", name,
            st_shape_repr(shape), st_dtype_name(dtype), numel * st_dtype_size(dtype), nbytes);
  entries_.push_back(Entry{name, dtype, std::move(shape), static_cast<const std::uint8_t*>(data), nbytes, owned});
}

void SafetensorsWriter::add(const std::string& name, StDType dtype, std::vector<std::int64_t> shape,
                            const void* data, std::size_t nbytes) {
  add_entry(name, dtype, std::move(shape), data, nbytes, 0);
}

void SafetensorsWriter::add_owned(const std::string& name, StDType dtype, std::vector<std::int64_t> shape,
                                  std::vector<std::uint8_t> bytes) {
  owned_.push_back(std::move(bytes));
  const auto& b = owned_.back();
  // The vector's heap buffer does not move when owned_ grows, so the pointer stays valid.
  add_entry(name, dtype, std::move(shape), b.data(), b.size(), owned_.size());
}

template <class T>
void SafetensorsWriter::add(const std::string& name, std::vector<std::int64_t> shape, std::span<const T> values) {
  add_entry(name, st_dtype_of<T>(), std::move(shape), values.data(), values.size_bytes(), 0);
}

void SafetensorsWriter::add_bf16(const std::string& name, std::vector<std::int64_t> shape,
                                 std::span<const float> values) {
  std::vector<std::uint8_t> bytes(values.size() * 2);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::uint16_t h = float_to_bf16(values[i]);
    std::memcpy(bytes.data() + 2 * i, &h, 2);
  }
  add_owned(name, StDType::BF16, std::move(shape), std::move(bytes));
}

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

std::vector<const SafetensorsWriter::Entry*> SafetensorsWriter::data_order() const {
  std::vector<const Entry*> order;
  for (const auto& e : entries_) order.push_back(&e);
  // Larger elements first, then by name (as the Rust library does): with the header padded to
  // 8 bytes, every tensor starts at a multiple of its element size.
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    const auto sa = st_dtype_size(a->dtype), sb = st_dtype_size(b->dtype);
    return sa != sb ? sa > sb : a->name < b->name;
  });
  return order;
}

std::string SafetensorsWriter::header() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata_) m[k] = v;
    j[std::string(kMetadataKey)] = std::move(m);
  }
  std::size_t offset = 0;
  for (const Entry* e : data_order()) {
    j[e->name] = {{"dtype", std::string(st_dtype_name(e->dtype))},
                  {"shape", e->shape},
                  {"data_offsets", {offset, offset + e->nbytes}}};
    offset += e->nbytes;
  }
  std::string json;
  try {
    json = j.dump();
  } catch (const nlohmann::json::type_error& e) {  // a name or metadata value that is not UTF-8
    HRM_CHECK(false, "safetensors header: {}", e.what());
  }
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const std::uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);
  return out + json;
}

void SafetensorsWriter::write(const std::string& path) const {
  static std::atomic<unsigned> counter{0};
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string tmp = (dir / fmt::format(".{}.tmp-{}-{}", p.filename().string(), ::getpid(), counter++)).string();
  const std::string head = header();

  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) throw InputError(path, fmt::format("cannot write: {}", std::strerror(errno)));
  auto fail = [&](const std::string& what) {
    const std::string err = std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    throw InputError(path, fmt::format("{}: {}", what, err), "check the free disk space and permissions");
  };
  if (!write_all(fd, reinterpret_cast<const std::uint8_t*>(head.data()), head.size())) fail("write failed");
  for (const Entry* e : data_order())
    if (!write_all(fd, e->data, e->nbytes)) fail("write failed");
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw InputError(path, "close failed: " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw InputError(path, "cannot rename into place: " + err);
  }
  fsync_path(dir.string());
}

template void SafetensorsWriter::add<double>(const std::string&, std::vector<std::int64_t>, std::span<const double>);
template void SafetensorsWriter::add<float>(const std::string&, std::vector<std::int64_t>, std::span<const float>);
template void SafetensorsWriter::add<std::int64_t>(const std::string&, std::vector<std::int64_t>,
                                                   std::span<const std::int64_t>);
template void SafetensorsWriter::add<std::int32_t>(const std::string&, std::vector<std::int64_t>,
                                                   std::span<const std::int32_t>);
template void SafetensorsWriter::add<std::uint8_t>(const std::string&, std::vector<std::int64_t>,
                                                   std::span<const std::uint8_t>);

// ---------------------------------------------------------------------------------------------
// Reader

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path, fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw InputError(path, "cannot stat");
  }
  const std::size_t len = static_cast<std::size_t>(st.st_size);
  if (len < 8) {
    ::close(fd);
    throw InputError(path, fmt::format("truncated file: {} bytes; a safetensors file starts with an 8-byte header length", len),
                     kHint);
  }
  void* m = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw InputError(path, fmt::format("cannot map: {}", std::strerror(errno)));
  f.map_ = m;  // owned from here: unmapped by the destructor when validation throws
  f.map_len_ = len;
  const auto* b = static_cast<const std::uint8_t*>(m);

  const std::uint64_t n = load<std::uint64_t>(b);
  if (n > len - 8)
    throw InputError(path, fmt::format("header length {} goes beyond the end of the file ({} bytes; truncated file?)", n, len),
                     kHint);
  const std::size_t data_len = len - 8 - n;
  f.data_ = b + 8 + n;

  nlohmann::json j;
  try {
    DuplicateKeyCheck dup(path);
    j = nlohmann::json::parse(b + 8, b + 8 + n, std::ref(dup));
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    if (auto k = what.find("] "); k != std::string::npos) what = what.substr(k + 2);
    throw InputError(path, fmt::format("malformed JSON header: {}", what), kHint);
  } catch (const nlohmann::json::out_of_range& e) {
    throw InputError(path, fmt::format("malformed JSON header: {}", json_error_reason(e)), kHint);
  }
  if (!j.is_object()) throw InputError(path, "the JSON header is not an object", kHint);

  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == kMetadataKey) {
      if (!v.is_object()) throw InputError(path, "__metadata__ is not an object of strings", kHint);
      for (auto mi = v.begin(); mi != v.end(); ++mi) {
        if (!mi.value().is_string())
          throw InputError(path, fmt::format("__metadata__ value of '{}' is not a string", mi.key()), kHint);
        f.metadata_[mi.key()] = mi.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) bad_entry(path, name, "header entry is not an object");
    for (auto fi = v.begin(); fi != v.end(); ++fi)
      if (fi.key() != "dtype" && fi.key() != "shape" && fi.key() != "data_offsets")
        bad_entry(path, name, fmt::format("unexpected key '{}'; expected dtype, shape and data_offsets", fi.key()));
    if (!v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      bad_entry(path, name, "header entry lacks dtype, shape or data_offsets");
    StTensorInfo t;
    if (!v["dtype"].is_string()) bad_entry(path, name, "dtype is not a string");
    const auto dt = st_dtype_from_name(v["dtype"].get<std::string>());
    if (!dt) bad_entry(path, name, fmt::format("unknown dtype '{}'; expected one of F64, F32, BF16, F16, I64, I32, U8, BOOL",
                                   v["dtype"].get<std::string>()));
    t.dtype = *dt;
    if (!v["shape"].is_array()) bad_entry(path, name, "shape is not an array");
    // Sizes are checked against the file as they multiply, so no product can overflow unseen.
    std::size_t need = st_dtype_size(t.dtype);
    for (const auto& d : v["shape"]) {
      std::size_t dim = 0;
      if (!as_size(d, dim) || dim > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()))
        bad_entry(path, name, "shape holds something other than non-negative integers");
      t.shape.push_back(static_cast<std::int64_t>(dim));
      if (dim != 0 && need > len / dim) need = len + 1;  // larger than any span this file can hold
      else need *= dim;
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !as_size(off[0], t.begin) || !as_size(off[1], t.end) || t.begin > t.end)
      bad_entry(path, name, "data_offsets must be [begin, end] with 0 <= begin <= end");
    if (need != t.end - t.begin) {
      if (need > len)
        bad_entry(path, name, fmt::format("shape {} of {} is larger than the file", st_shape_repr(t.shape),
                                          st_dtype_name(t.dtype)));
      bad_entry(path, name, fmt::format("shape {} of {} needs {} bytes but data_offsets {} span {}",
                                        st_shape_repr(t.shape), st_dtype_name(t.dtype), need, offsets_repr(t),
                                        t.end - t.begin));
    }
    if (t.end > data_len)
      bad_entry(path, name, fmt::format("data_offsets {} go beyond the data section ({} bytes; truncated file?)",
                                        offsets_repr(t), data_len));
    f.tensors_.emplace(name, std::move(t));
  }

  // Tensors tile the data section, as every safetensors writer lays them out: an overlap means
  // two tensors share bytes, a gap or tail means the header and the data disagree.
  std::vector<std::pair<const std::string*, const StTensorInfo*>> by_offset;
  for (const auto& [name, t] : f.tensors_) by_offset.emplace_back(&name, &t);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) {
    return std::pair(a.second->begin, a.second->end) < std::pair(b.second->begin, b.second->end);
  });
  std::size_t pos = 0;
  const std::string* prev = nullptr;
  for (const auto& [name, t] : by_offset) {
    if (t->begin < pos)
      throw InputError(path, fmt::format("tensors '{}' and '{}' overlap (data_offsets {} and {})", *prev, *name,
                                         offsets_repr(f.tensors_.at(*prev)), offsets_repr(*t)), kHint);
    if (t->begin > pos)
      throw InputError(path, fmt::format("{} unused bytes before tensor '{}' (data_offsets {}); expected tensors to "
                                         "fill the data section", t->begin - pos, *name, offsets_repr(*t)), kHint);
    pos = t->end;
    prev = name;
  }
  if (pos != data_len)
    throw InputError(path, fmt::format("{} bytes after the last tensor; expected the data section ({} bytes) to end "
                                       "with it", data_len - pos, data_len), kHint);
  return f;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept { *this = std::move(o); }
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(map_, map_len_);
    path_ = std::move(o.path_);
    tensors_ = std::move(o.tensors_);
    metadata_ = std::move(o.metadata_);
    map_ = o.map_;
    map_len_ = o.map_len_;
    data_ = o.data_;
    o.map_ = nullptr;
    o.map_len_ = 0;
    o.data_ = nullptr;
  }
  return *this;
}
SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_len_);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors_) out.push_back(name);
  return out;
}

const StTensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end())
    throw InputError(path_, fmt::format("missing tensor '{}'", name),
                     "the file was written for another model or by another tool");
  return it->second;
}

std::span<const std::uint8_t> SafetensorsFile::bytes(const std::string& name) const {
  const StTensorInfo& t = info(name);
  return {data_ + t.begin, t.end - t.begin};
}

template <class T>
void SafetensorsFile::read_into(const std::string& name, const std::vector<std::int64_t>& expected_shape,
                                std::span<T> out) const {
  const StTensorInfo& t = info(name);
  if (t.shape != expected_shape)
    throw InputError(path_, fmt::format("tensor '{}' has shape {}, expected {}", name, st_shape_repr(t.shape),
                                        st_shape_repr(expected_shape)),
                     "the file was written for a model of another shape");
  HRM_CHECK(out.size() == static_cast<std::size_t>(t.numel()), "read_into '{}': {} elements for shape {}", name,
            out.size(), st_shape_repr(t.shape));
  if (t.dtype == st_dtype_of<T>()) {
    if (!out.empty()) std::memcpy(out.data(), data_ + t.begin, out.size_bytes());
    return;
  }
  convert(t.dtype, data_ + t.begin, out.size(), out.data(), path_, name);
}

template <class T>
std::vector<T> SafetensorsFile::read_as(const std::string& name, const std::vector<std::int64_t>& expected_shape) const {
  const StTensorInfo& t = info(name);
  std::vector<T> out(t.shape == expected_shape ? static_cast<std::size_t>(t.numel()) : 0);
  read_into<T>(name, expected_shape, out);
  return out;
}

std::optional<std::string> SafetensorsFile::metadata(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) return std::nullopt;
  return it->second;
}

#define HRM_ST_INSTANTIATE(T)                                                                                  \
  template void SafetensorsFile::read_into<T>(const std::string&, const std::vector<std::int64_t>&, std::span<T>) \
      const;                                                                                                   \
  template std::vector<T> SafetensorsFile::read_as<T>(const std::string&, const std::vector<std::int64_t>&) const;
HRM_ST_INSTANTIATE(double)
HRM_ST_INSTANTIATE(float)
HRM_ST_INSTANTIATE(std::int64_t)
HRM_ST_INSTANTIATE(std::int32_t)
HRM_ST_INSTANTIATE(std::uint8_t)
#undef HRM_ST_INSTANTIATE

}  // namespace hrm
