// safetensors.hpp: the safetensors format (github.com/huggingface/safetensors), written and read
// without the Rust library: 8-byte little-endian header length N, N bytes of JSON
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then the
// data. hrmkit's checkpoints and HRM weight files (tools/hrm_checkpoint.py) use it because it is
// plain bytes plus a header any language can check, unlike a pickled PyTorch state dict.
//  - SafetensorsWriter stages tensors and writes the file under a temporary name in the same
//    folder, fsyncs and renames it: a crash never leaves a partial file under the real name.
//  - SafetensorsFile maps a file read-only and validates all of it on open (sizes, JSON, dtypes,
//    shapes against offsets, offsets against the file and each other, duplicate names); every
//    problem is one InputError naming the file and what was expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hrm {

// The dtypes hrmkit reads; all of them can be written as raw bytes.
enum class StDType { F64, F32, BF16, F16, I64, I32, U8, BOOL };

std::string_view st_dtype_name(StDType t);                       // "F32", ...
std::size_t st_dtype_size(StDType t);                            // bytes per element
std::optional<StDType> st_dtype_from_name(std::string_view name);  // nullopt when unknown

// bfloat16 / float16 <-> float. float_to_bf16 rounds to nearest even (PyTorch's .to(bfloat16));
// NaN stays NaN. Both widenings are exact.
std::uint16_t float_to_bf16(float f);
float bf16_to_float(std::uint16_t h);
float f16_to_float(std::uint16_t h);

// "(a, b)", "(a,)", "()": shapes as Python prints them, used in every shape message.
std::string st_shape_repr(const std::vector<std::int64_t>& shape);

class SafetensorsWriter {
 public:
  // Adds a tensor WITHOUT copying: `data` (nbytes = prod(shape) * dtype size) must stay alive and
  // unchanged until write() returns. Saves copying a 2 GB puzzle-embedding table into a buffer.
  void add(const std::string& name, StDType dtype, std::vector<std::int64_t> shape, const void* data,
           std::size_t nbytes);
  // Adds a tensor that the writer owns (converted or temporary data).
  void add_owned(const std::string& name, StDType dtype, std::vector<std::int64_t> shape,
                 std::vector<std::uint8_t> bytes);
  // Typed, non-copying forms for T = double, float, int64_t, int32_t, uint8_t.
  template <class T>
  void add(const std::string& name, std::vector<std::int64_t> shape, std::span<const T> values);
  // Stores float values as BF16 (rounded to nearest even); HRM's H_init / L_init are bf16 buffers.
  void add_bf16(const std::string& name, std::vector<std::int64_t> shape, std::span<const float> values);

  void set_metadata(const std::string& key, const std::string& value);

  // Writes `path` atomically (temporary name in the same folder, fsync, rename, fsync of the
  // folder). On any failure the temporary file is removed, `path` is untouched, and an InputError
  // names `path`.
  void write(const std::string& path) const;

  // The complete header (length prefix, JSON, padding) write() would emit; for tests.
  std::string header() const;

 private:
  struct Entry {
    std::string name;
    StDType dtype;
    std::vector<std::int64_t> shape;
    const std::uint8_t* data;
    std::size_t nbytes;
    std::size_t owned;  // index into owned_ + 1, or 0 when the caller owns the bytes
  };
  void add_entry(const std::string& name, StDType dtype, std::vector<std::int64_t> shape,
                 const void* data, std::size_t nbytes, std::size_t owned);
  std::vector<const Entry*> data_order() const;

  std::vector<Entry> entries_;
  std::vector<std::vector<std::uint8_t>> owned_;
  std::map<std::string, std::string> metadata_;
};

struct StTensorInfo {
  StDType dtype = StDType::F32;
  std::vector<std::int64_t> shape;
  std::size_t begin = 0, end = 0;  // byte offsets within the data section
  std::int64_t numel() const;
};

// A read-only, memory-mapped safetensors file, fully validated by open().
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  std::vector<std::string> names() const;  // sorted
  // InputError "missing tensor 'x'" when absent.
  const StTensorInfo& info(const std::string& name) const;
  std::span<const std::uint8_t> bytes(const std::string& name) const;

  // The tensor converted to T (double, float, int64_t, int32_t, uint8_t). F64/F32/BF16/F16 and
  // the integer dtypes convert to floating T; only integer dtypes and BOOL convert to integer T,
  // range-checked. A shape other than `expected_shape` is an InputError
  // "tensor 'x' has shape (a, b), expected (c, d)".
  template <class T>
  std::vector<T> read_as(const std::string& name, const std::vector<std::int64_t>& expected_shape) const;
  // The same into caller memory (out.size() == prod(expected_shape)), for tables too big to copy twice.
  template <class T>
  void read_into(const std::string& name, const std::vector<std::int64_t>& expected_shape, std::span<T> out) const;

  std::optional<std::string> metadata(const std::string& key) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  std::map<std::string, StTensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
  void* map_ = nullptr;
  std::size_t map_len_ = 0;
  const std::uint8_t* data_ = nullptr;  // start of the data section
};

}  // namespace hrm
