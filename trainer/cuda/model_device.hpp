// model_device.hpp: the model's state on the device for HrmAct<CudaOps, float> (trainer/model):
// weights, ACT carry and batch in DeviceMemory, uploaded from and downloaded to their host
// counterparts. Host C++: includable without nvcc. Copies are synchronous (device_buffer.hpp): for
// setup, checkpoints and the start of a step, never inside one.
#pragma once

#include "trainer/cuda/cuda_ops.hpp"
#include "trainer/model/act.hpp"

namespace hrm::cuda {

using DeviceWeights = HrmWeights<float, DeviceMemory>;
using DeviceCarry = ActCarry<float, DeviceMemory>;
using DeviceBatch = ActBatchIn<DeviceMemory>;

DeviceWeights to_device(const HrmWeights<float>& w);
DeviceCarry to_device(const ActCarry<float>& c);
// Device buffers of the host batch's sizes, allocated when the sizes differ, then the batch uploaded.
void upload(DeviceBatch& dst, const ActBatch& src);

// The device values into the host structs (whose dims and layout are already the device's).
void to_host(HrmWeights<float>& dst, const DeviceWeights& src);
void to_host(ActCarry<float>& dst, const DeviceCarry& src);

}  // namespace hrm::cuda
