// hrm_yaml_defaults.cpp: the hydra defaults of HRM and TRM, embedded for pasted command lines.
//
// Transcribed from sapientinc/HRM 42410da (config/cfg_pretrain.yaml, config/arch/hrm_v1.yaml;
// HRM-SPEC 1.1 and 6.1) and SamsungSAILMontreal/TinyRecursiveModels e7b6871 (config/cfg_pretrain.yaml,
// config/arch/trm.yaml, config/arch/hrm.yaml). Comments of the originals are left out; the values
// and the `${.hidden_size}` interpolation are theirs. tests/test_hrm_yaml.cpp checks that
// tests/fixtures/hrm_yaml/hrm/config (the same files on disk) reads to the same Config.
#include <map>

#include "common/hrm_yaml_config.hpp"

namespace hrm {

namespace {

const std::map<std::string, std::string>& embedded_files() {
  static const std::map<std::string, std::string> files = {
      {"embedded:sapientinc/HRM/config/cfg_pretrain.yaml", R"(# ARC training config
defaults:
  - arch: hrm_v1
  - _self_

hydra:
  output_subdir: null

data_path: data/arc-aug-1000

global_batch_size: 768

epochs: 100000
eval_interval: 10000
checkpoint_every_eval: True

lr: 1e-4
lr_min_ratio: 1.0
lr_warmup_steps: 2000

beta1: 0.9
beta2: 0.95
weight_decay: 0.1
puzzle_emb_weight_decay: 0.1

puzzle_emb_lr: 1e-2
)"},
      {"embedded:sapientinc/HRM/config/arch/hrm_v1.yaml", R"(name: hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1
loss:
  name: losses@ACTLossHead
  loss_type: stablemax_cross_entropy

halt_exploration_prob: 0.1
halt_max_steps: 16

H_cycles: 2
L_cycles: 2

H_layers: 4
L_layers: 4

hidden_size: 512
num_heads: 8
expansion: 4

puzzle_emb_ndim: ${.hidden_size}

pos_encodings: rope
)"},
      {"embedded:SamsungSAILMontreal/TinyRecursiveModels/config/cfg_pretrain.yaml", R"(# ARC training config
defaults:
  - arch: trm
  - _self_

hydra:
  output_subdir: null

data_paths: ['data/arc-aug-1000']
data_paths_test: []

evaluators:
  - name: arc@ARC

global_batch_size: 768

epochs: 100000
eval_interval: 10000
checkpoint_every_eval: True

lr: 1e-4
lr_min_ratio: 1.0
lr_warmup_steps: 2000

beta1: 0.9
beta2: 0.95
weight_decay: 0.1
puzzle_emb_weight_decay: 0.1

puzzle_emb_lr: 1e-2

seed: 0
min_eval_interval: 0

ema: False
ema_rate: 0.999
freeze_weights: False
)"},
      {"embedded:SamsungSAILMontreal/TinyRecursiveModels/config/arch/trm.yaml", R"(name: recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1
loss:
  name: losses@ACTLossHead
  loss_type: stablemax_cross_entropy

halt_exploration_prob: 0.1
halt_max_steps: 16

H_cycles: 3
L_cycles: 6

H_layers: 0
L_layers: 2

hidden_size: 512
num_heads: 8
expansion: 4

puzzle_emb_ndim: ${.hidden_size}

pos_encodings: rope
forward_dtype: bfloat16

mlp_t: False
puzzle_emb_len: 16
no_ACT_continue: True
)"},
      {"embedded:SamsungSAILMontreal/TinyRecursiveModels/config/arch/hrm.yaml", R"(name: recursive_reasoning.hrm@HierarchicalReasoningModel_ACTV1
loss:
  name: losses@ACTLossHead
  loss_type: stablemax_cross_entropy

halt_exploration_prob: 0.1
halt_max_steps: 16

H_cycles: 2
L_cycles: 2

H_layers: 4
L_layers: 4

hidden_size: 512
num_heads: 8
expansion: 4

puzzle_emb_ndim: ${.hidden_size}

pos_encodings: rope
forward_dtype: bfloat16

mlp_t: False
)"},
  };
  return files;
}

}  // namespace

std::string hrm_embedded_primary(const std::string& layout) {
  return layout == "TRM" ? "embedded:SamsungSAILMontreal/TinyRecursiveModels/config/cfg_pretrain.yaml"
                         : "embedded:sapientinc/HRM/config/cfg_pretrain.yaml";
}

const std::string* hrm_embedded_file(const std::string& name) {
  const auto& f = embedded_files();
  auto it = f.find(name);
  return it == f.end() ? nullptr : &it->second;
}

}  // namespace hrm
