// npy.hpp: NumPy .npy reader (memory-mapped, strictly validated) and writer (byte-identical to
// numpy.save for the dtypes HRM uses: |u1, <i4, <i8; format 1.0, C order, little endian).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hrm {

enum class DType { U8, I32, I64, F32 };  // F32: written (saved predictions), never read

std::string dtype_descr(DType t);   // "|u1", "<i4", "<i8", "<f4"
std::size_t dtype_size(DType t);

// The complete header block (magic, version, length, dict, padding, '\n') numpy writes.
std::string npy_header(DType dtype, const std::vector<std::int64_t>& shape);

// Writes an array as numpy.save would. `data` holds prod(shape) elements of `dtype`.
void write_npy(const std::string& path, DType dtype, const std::vector<std::int64_t>& shape,
               const void* data);

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::U8; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::I32; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::I64; }
template <> constexpr DType dtype_of<float>() { return DType::F32; }

template <class T>
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const std::vector<T>& v) {
  write_npy(path, dtype_of<T>(), shape, v.data());
}

// A read-only, memory-mapped .npy file. Opening checks the magic, version, header dict, dtype
// (|u1, <i4, <i8 accepted), C order, and that the file size matches the shape exactly; any
// mismatch is an InputError naming the file.
class NpyArray {
 public:
  static NpyArray open(const std::string& path);
  NpyArray(NpyArray&&) noexcept;
  NpyArray& operator=(NpyArray&&) noexcept;
  ~NpyArray();

  const std::string& path() const { return path_; }
  DType dtype() const { return dtype_; }
  const std::vector<std::int64_t>& shape() const { return shape_; }
  std::int64_t size() const;                     // number of elements
  std::int64_t dim(std::size_t i) const { return shape_.at(i); }
  const std::uint8_t* bytes() const { return data_; }

  std::int64_t at(std::int64_t i) const;          // element i (flat) widened to int64
  std::vector<std::int64_t> to_int64() const;     // whole array widened (for index arrays)
  void copy_row_u8(std::int64_t row, std::uint8_t* out) const;  // one row of a 2-D token array

 private:
  NpyArray() = default;
  std::string path_;
  DType dtype_ = DType::U8;
  std::vector<std::int64_t> shape_;
  void* map_ = nullptr;
  std::size_t map_len_ = 0;
  const std::uint8_t* data_ = nullptr;
};

}  // namespace hrm
