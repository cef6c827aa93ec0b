// model_device.hpp: the model's state on the device for HrmAct<CudaOps, T> (trainer/model), T = float
// or cuda::bf16: weights, ACT carry and batch in DeviceMemory, uploaded from and downloaded to their
// (float) host counterparts. For bf16 the parameters, H_init / L_init and the carry are rounded to
// bf16 on the way up (H_init / L_init are bf16 values already) and widened on the way down; the
// puzzle table is acc_t = fp32 on both sides. Host C++: includable without nvcc. Copies are
// synchronous (device_buffer.hpp): for setup, checkpoints and the start of a step, never inside one.
#pragma once

#include <vector>

#include "trainer/cuda/cuda_ops.hpp"
#include "trainer/model/act.hpp"

namespace hrm::cuda {

template <class T> using DeviceWeights = HrmWeights<T, DeviceMemory>;
template <class T> using DeviceCarry = ActCarry<T, DeviceMemory>;
using DeviceBatch = ActBatchIn<DeviceMemory>;

// Host floats as T (bf16: rounded to nearest even) and back.
template <class T> std::vector<T> host_as(const std::vector<float>& v);
template <class T> std::vector<float> host_float(const std::vector<T>& v);

template <class T> DeviceWeights<T> to_device(const HrmWeights<float>& w);
template <class T> DeviceCarry<T> to_device(const ActCarry<float>& c);
// Device buffers of the host batch's sizes, allocated when the sizes differ, then the batch uploaded.
void upload(DeviceBatch& dst, const ActBatch& src);

// The device values into the host structs (whose dims and layout are already the device's).
template <class T> void to_host(HrmWeights<float>& dst, const DeviceWeights<T>& src);
template <class T> void to_host(ActCarry<float>& dst, const DeviceCarry<T>& src);

}  // namespace hrm::cuda
