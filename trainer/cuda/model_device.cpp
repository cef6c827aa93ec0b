// model_device.cpp: host <-> device copies of the model's state (model_device.hpp).
#include "trainer/cuda/model_device.hpp"

#include <type_traits>

namespace hrm::cuda {

namespace {
// v's values as To (float -> bf16: round to nearest even; bf16 -> float: exact).
template <class To, class From> std::vector<To> converted(const std::vector<From>& v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else {
    std::vector<To> out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<To>(v[i]);
    return out;
  }
}
}  // namespace

template <class T> std::vector<T> host_as(const std::vector<float>& v) { return converted<T>(v); }
template <class T> std::vector<float> host_float(const std::vector<T>& v) { return converted<float>(v); }

template <class T> DeviceWeights<T> to_device(const HrmWeights<float>& w) {
  DeviceWeights<T> d;
  d.dims = w.dims;
  d.layout = w.layout;
  d.params = DeviceBuffer<T>(host_as<T>(w.params));
  d.H_init = DeviceBuffer<T>(host_as<T>(w.H_init));
  d.L_init = DeviceBuffer<T>(host_as<T>(w.L_init));
  d.puzzle_emb = DeviceBuffer<float>(w.puzzle_emb);
  return d;
}

template <class T> DeviceCarry<T> to_device(const ActCarry<float>& c) {
  DeviceCarry<T> d;
  d.zH = DeviceBuffer<T>(host_as<T>(c.zH));
  d.zL = DeviceBuffer<T>(host_as<T>(c.zL));
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

template <class T> void to_host(HrmWeights<float>& dst, const DeviceWeights<T>& src) {
  dst.params = host_float(src.params.to_host());
  dst.H_init = host_float(src.H_init.to_host());
  dst.L_init = host_float(src.L_init.to_host());
  dst.puzzle_emb = src.puzzle_emb.to_host();
}

template <class T> void to_host(ActCarry<float>& dst, const DeviceCarry<T>& src) {
  dst.zH = host_float(src.zH.to_host());
  dst.zL = host_float(src.zL.to_host());
  dst.steps = src.steps.to_host();
  dst.halted = src.halted.to_host();
  dst.data.inputs = src.data.inputs.to_host();
  dst.data.labels = src.data.labels.to_host();
  dst.data.puzzle_ids = src.data.puzzle_ids.to_host();
}

#define HRM_MODEL_DEVICE(T)                                                                   \
  template std::vector<T> host_as<T>(const std::vector<float>&);                              \
  template std::vector<float> host_float<T>(const std::vector<T>&);                           \
  template DeviceWeights<T> to_device<T>(const HrmWeights<float>&);                           \
  template DeviceCarry<T> to_device<T>(const ActCarry<float>&);                               \
  template void to_host<T>(HrmWeights<float>&, const DeviceWeights<T>&);                      \
  template void to_host<T>(ActCarry<float>&, const DeviceCarry<T>&);
HRM_MODEL_DEVICE(float)
HRM_MODEL_DEVICE(bf16)
#undef HRM_MODEL_DEVICE

}  // namespace hrm::cuda
