// model_device.cpp: host <-> device copies of the model's state (model_device.hpp).
#include "trainer/cuda/model_device.hpp"

namespace hrm::cuda {

DeviceWeights to_device(const HrmWeights<float>& w) {
  DeviceWeights d;
  d.dims = w.dims;
  d.layout = w.layout;
  d.params = DeviceBuffer<float>(w.params);
  d.H_init = DeviceBuffer<float>(w.H_init);
  d.L_init = DeviceBuffer<float>(w.L_init);
  d.puzzle_emb = DeviceBuffer<float>(w.puzzle_emb);
  return d;
}

DeviceCarry to_device(const ActCarry<float>& c) {
  DeviceCarry d;
  d.zH = DeviceBuffer<float>(c.zH);
  d.zL = DeviceBuffer<float>(c.zL);
  d.steps = DeviceBuffer<std::int32_t>(c.steps);
  d.halted = DeviceBuffer<std::uint8_t>(c.halted);
  upload(d.data, c.data);
  return d;
}

void upload(DeviceBatch& dst, const ActBatch& src) {
  for (auto [to, from] : {std::pair{&dst.inputs, &src.inputs}, std::pair{&dst.labels, &src.labels},
                          std::pair{&dst.puzzle_ids, &src.puzzle_ids}}) {
    if (to->size() != from->size()) to->resize(from->size());
    to->upload(from->data(), from->size());
  }
}

void to_host(HrmWeights<float>& dst, const DeviceWeights& src) {
  dst.params = src.params.to_host();
  dst.H_init = src.H_init.to_host();
  dst.L_init = src.L_init.to_host();
  dst.puzzle_emb = src.puzzle_emb.to_host();
}

void to_host(ActCarry<float>& dst, const DeviceCarry& src) {
  dst.zH = src.zH.to_host();
  dst.zL = src.zL.to_host();
  dst.steps = src.steps.to_host();
  dst.halted = src.halted.to_host();
  dst.data.inputs = src.data.inputs.to_host();
  dst.data.labels = src.data.labels.to_host();
  dst.data.puzzle_ids = src.data.puzzle_ids.to_host();
}

}  // namespace hrm::cuda
