// checkpoint.hpp: hrmkit checkpoints (safetensors) and HRM weight files.
//
// A full checkpoint holds the weights under HRM's PyTorch names and layouts (HRM-SPEC 7.3, so
// tools/hrm_checkpoint.py turns it into a state dict HRM's evaluate.py loads), the AdamATan2
// moments (`optimizer.m.<name>`, `optimizer.v.<name>`), the ACT carry (`carry.*`), and in the
// metadata the step, the sampler position, the resolved config and the model shape. A weights-only
// file (HRM names, no optimizer or carry) initialises or evaluates a model of the config's shape.
// Writes go to a temporary name, are fsynced and renamed: a crash never leaves half a checkpoint.
#pragma once

#include <string>

#include "trainer/loop/trainer.hpp"

namespace hrm {

void save_checkpoint(const std::string& path, const TrainerState& s, const std::string& config_toml);

// A full checkpoint for a model of shape `expected` trained with local batch `local_batch`. A file
// of another shape or batch is an InputError naming what differs.
TrainerState load_checkpoint(const std::string& path, const HrmDims& expected, std::int64_t local_batch);

// The weights of a full checkpoint or a weights-only HRM file, checked against `expected`.
HrmWeights<float> load_weights(const std::string& path, const HrmDims& expected);

// The resolved config stored in a full checkpoint ("" for a weights-only file).
std::string checkpoint_config(const std::string& path);

}  // namespace hrm
