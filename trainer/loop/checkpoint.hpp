// checkpoint.hpp: hrmkit checkpoints (safetensors) and HRM weight files.
//
// A full checkpoint holds the weights under HRM's PyTorch names and layouts (HRM-SPEC 7.3, so
// tools/hrm_checkpoint.py turns it into a state dict HRM's evaluate.py loads), the AdamATan2
// moments (`optimizer.m.<name>`, `optimizer.v.<name>`), the ACT carry of the global batch (`carry.*`,
// every rank's slots in rank order), and in the metadata the world size, the step, the sampler position, the resolved config and the model shape. A weights-only
// file (HRM names, no optimizer or carry) initialises or evaluates a model of the config's shape.
// Writes go to a temporary name, are fsynced and renamed: a crash never leaves half a checkpoint.
#pragma once

#include <string>

#include "trainer/loop/trainer.hpp"

namespace hrm {

void save_checkpoint(const std::string& path, const TrainerState& s, const std::string& config_toml);
// A checkpoint of a run of `world_size` ranks: `global_carry` is every rank's carry in rank order
// (the global batch's slots, Trainer::global_carry()); s.carry is not used.
void save_checkpoint(const std::string& path, const TrainerState& s, const std::string& config_toml,
                     const ActCarry<float>& global_carry, std::int64_t world_size);

// A full checkpoint for a model of shape `expected` trained with global batch `global_batch`, for rank
// `rank` of `world_size`: the carry is the rank's slots [rank*b, (rank+1)*b) of the stored global
// carry. A file of another shape or batch is an InputError naming what differs; so is one written by
// a run of another world size (the carry's slots are per rank and the gradient sums round
// differently, so such a resume could not continue bit for bit: it is refused).
TrainerState load_checkpoint(const std::string& path, const HrmDims& expected, std::int64_t global_batch,
                             std::int64_t world_size = 1, std::int64_t rank = 0);

// The weights of a full checkpoint or a weights-only HRM file, checked against `expected`.
HrmWeights<float> load_weights(const std::string& path, const HrmDims& expected);

// The resolved config stored in a full checkpoint ("" for a weights-only file).
std::string checkpoint_config(const std::string& path);

}  // namespace hrm
