// model_cpu.cpp: the model templates compiled once for the Eigen backend, float and double.
#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/model/act.hpp"

namespace hrm {
template class HrmModel<CpuOps, float>;
template class HrmModel<CpuOps, double>;
template class HrmAct<CpuOps, float>;
template class HrmAct<CpuOps, double>;
}  // namespace hrm
