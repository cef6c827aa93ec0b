// device_buffer.hpp: DeviceBuffer<T>, an owning, move-only array in device memory (cudaMalloc), and
// the host <-> device copies the tests and setup code need. Host C++: includable without nvcc.
// resize() reallocates and zero-fills (the contents are not kept), as a fresh std::vector<T>(n) is zero.
// Copies are synchronous (cudaMemcpy on the legacy default stream, after the work queued there):
// for setup, tests and the end of a step, never inside one. DeviceMemory is the CUDA backend's
// Memory (trainer/ops/ops.hpp): HrmWeights<float, DeviceMemory> and the like hold DeviceBuffers.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include <cuda_runtime_api.h>

#include "trainer/cuda/cuda_check.hpp"

namespace hrm {

template <class T> class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) { resize(count); }
  explicit DeviceBuffer(const std::vector<T>& host) {
    resize(host.size());
    upload(host.data(), host.size());
  }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void resize(std::size_t count) {
    release();
    if (count == 0) return;
    CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), count * sizeof(T)));
    n_ = count;
    CUDA_CHECK(cudaMemset(p_, 0, count * sizeof(T)));
  }

  T* data() { return p_; }
  const T* data() const { return p_; }
  std::size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }

  // Elements [offset, offset + count) from / to host memory.
  void upload(const T* host, std::size_t count, std::size_t offset = 0) {
    HRM_CHECK(offset + count <= n_, "DeviceBuffer::upload: {} + {} elements exceed {}", offset, count, n_);
    if (count > 0) CUDA_CHECK(cudaMemcpy(p_ + offset, host, count * sizeof(T), cudaMemcpyHostToDevice));
  }
  void download(T* host, std::size_t count, std::size_t offset = 0) const {
    HRM_CHECK(offset + count <= n_, "DeviceBuffer::download: {} + {} elements exceed {}", offset, count, n_);
    if (count > 0) CUDA_CHECK(cudaMemcpy(host, p_ + offset, count * sizeof(T), cudaMemcpyDeviceToHost));
  }
  std::vector<T> to_host() const {
    std::vector<T> h(n_);
    download(h.data(), n_);
    return h;
  }

 private:
  void release() noexcept {
    if (p_) cudaFree(p_);  // cannot fail for a pointer cudaMalloc returned; a destructor must not throw
    p_ = nullptr;
    n_ = 0;
  }

  T* p_ = nullptr;
  std::size_t n_ = 0;
};

struct DeviceMemory {
  template <class T> using Buffer = DeviceBuffer<T>;
};

}  // namespace hrm
