// hrm_command_line.hpp: a pasted HRM/TRM training command line read into an hrmkit Config.
//
//   [VAR=value ...] torchrun [--nproc-per-node N] [--nnodes M] [...] pretrain.py [OVERRIDE ...]
//   [VAR=value ...] python [-m torch.distributed.run ...] pretrain.py [OVERRIDE ...]
//
// The GPU count is nnodes x nproc-per-node (torchrun's defaults: 1 x 1; plain `python pretrain.py`
// is one GPU); the overrides apply on top of the repository's defaults (cfg_pretrain.yaml + its
// arch file), embedded in hrmkit (hrm_yaml_defaults.cpp). The repository is TinyRecursiveModels
// when an override only TRM has appears (arch=trm, data_paths=..., ema=...), else sapientinc/HRM.
// An unknown launcher flag, script or override is an InputError naming the token.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/hrm_yaml_config.hpp"

namespace hrm {

struct LaunchCommand {
  std::int64_t gpus = 1;                 // nnodes x nproc_per_node
  std::string launcher;                  // "torchrun" | "python" | "python -m torch.distributed.run" ...
  std::string gpu_flags;                 // the flags the count came from, for positions ("--nproc-per-node 8")
  std::string script;                    // as written, e.g. pretrain.py
  std::vector<std::string> overrides;    // Hydra overrides after the script
};

// argv: the words after `hrm analyze --`. One word holding spaces is split as a shell would (quotes,
// backslash-newline), so `hrm analyze -- "$(cat cmd.txt)"` works too.
LaunchCommand parse_launch_command(const std::vector<std::string>& argv);

// The command's Config (source_format "command-line"); `extra` are hrmkit KEY=VALUE overrides
// applied last (hardware.gpu_memory_gb=40).
HrmYamlConfig hrm_command_line_config(const std::vector<std::string>& argv, const std::vector<std::string>& extra = {});

}  // namespace hrm
