// config.hpp: the hrmkit configuration (ARCHITECTURE.md section 3), loaded from TOML with toml++.
//
// Section and key names follow HRM's hydra config so a command line translates 1:1
// (`arch.L_cycles=8`). Loading is strict: unknown keys, wrong types and impossible values are
// InputErrors citing file:line:col. `key=value` overrides go through the same validator.
// Every default is HRM's (HRM-SPEC 1.1 and 6.1) unless its comment says otherwise.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hrm {

struct DataConfig {
  std::string path;                                    // HRM-format dataset folder (train/ and test/)
};

struct ArchConfig {
  std::string family = "hrm";                          // "hrm" (HRM ACT V1) | "trm" (TinyRecursiveModels: L_layers blocks only)
  std::int64_t hidden_size = 512;
  std::int64_t H_cycles = 2;
  std::int64_t L_cycles = 2;
  std::int64_t H_layers = 4;
  std::int64_t L_layers = 4;
  double expansion = 4.0;                              // SwiGLU expansion
  std::int64_t num_heads = 8;
  std::string pos_encodings = "rope";                  // "rope" | "learned"
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  std::int64_t halt_max_steps = 16;                    // ACT segments per example at most
  double halt_exploration_prob = 0.1;
  std::int64_t puzzle_emb_ndim = -1;                   // -1: = hidden_size, as hrm_v1.yaml's ${.hidden_size}
  std::int64_t puzzle_emb_len = 0;                     // puzzle positions; 0: ceil(puzzle_emb_ndim / hidden_size), as HRM (trm.yaml: 16)
  bool mlp_t = false;                                  // TRM's variant: an MLP across the token axis replaces attention
  std::string loss_type = "stablemax_cross_entropy";   // or "softmax_cross_entropy"
  std::string forward_dtype = "bfloat16";
};

struct TrainConfig {
  std::int64_t global_batch_size = 768;                // B, split evenly over num_gpus ranks
  std::int64_t epochs = 100000;                        // one epoch = one draw per group
  std::int64_t eval_interval = 10000;                  // epochs per sampler iteration; 0 = epochs
  double lr = 1e-4;
  double lr_min_ratio = 1.0;                           // 1.0 = constant after warmup
  std::int64_t lr_warmup_steps = 2000;                 // OPTIMIZER STEPS, not examples
  double beta1 = 0.9;
  double beta2 = 0.95;
  double weight_decay = 0.1;
  double puzzle_emb_lr = 1e-2;
  double puzzle_emb_weight_decay = 0.1;
  std::int64_t seed = 0;
  bool checkpoint_every_eval = true;
};

struct HardwareConfig {
  std::int64_t num_gpus = 1;                           // world size W
  double gpu_memory_gb = 80.0;                         // per GPU, GiB as nvidia-smi reports it
  std::string interconnect = "nvlink";                 // "nvlink" | "infiniband" | "pcie" | "ethernet": the all-reduce's link
  double interconnect_gbps = 0;                        // all-reduce bandwidth per GPU, Gbit/s; 0: the interconnect's default
  double gpu_tflops = 150;                             // sustained TFLOP/s per GPU the step-time model assumes (HRM's
                                                       // 512-wide GEMMs run far below an H100's 989 bf16 peak)
};

struct TaskConfig {
  std::string horizon = "auto";                        // "short" (ARC-like), "long" (search: Sudoku, Maze), "auto"
};

struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
  std::string str() const;                              // "file:line:col" (or "override 'k=v'")
};

struct Config {
  DataConfig data;
  ArchConfig arch;
  TrainConfig train;
  HardwareConfig hardware;
  TaskConfig task;

  std::string source_file;                              // where it was loaded from
  std::string source_format = "toml";                   // "toml" | "hrm-yaml" (hydra YAML) | "command-line" (torchrun/python)
  std::map<std::string, SourcePos> positions;           // "train.lr" -> where it was set
  std::vector<std::string> overrides;                   // key=value applied after loading

  std::int64_t puzzle_emb_ndim() const { return arch.puzzle_emb_ndim < 0 ? arch.hidden_size : arch.puzzle_emb_ndim; }
  std::int64_t epochs_per_iter() const { return train.eval_interval > 0 ? train.eval_interval : train.epochs; }
  SourcePos position_of(const std::string& key) const;  // the key's position, else the file's start
};

using FieldRef = std::variant<std::int64_t*, double*, std::string*, bool*>;
struct ConfigField {
  std::string key;                                      // "section.name"
  FieldRef ref;
};
std::vector<ConfigField> config_fields(Config& c);     // the schema: every key, in file order
// Case-insensitive, for "did you mean"; at most `cap` (returned at once when the lengths differ by cap or more).
std::size_t edit_distance(const std::string& a, const std::string& b, std::size_t cap = SIZE_MAX);

Config load_config(const std::string& path);           // parse + validate
Config parse_config(const std::string& toml_text, const std::string& source_name);
void apply_override(Config& c, const std::string& key_eq_value);  // then call validate_config
void validate_config(const Config& c);                 // value ranges; InputError with position
std::string config_to_toml(const Config& c);           // the resolved config, every key
nlohmann::json config_to_json(const Config& c);

}  // namespace hrm
