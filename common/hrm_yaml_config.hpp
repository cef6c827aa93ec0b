// hrm_yaml_config.hpp: HRM's and TRM's hydra configuration (YAML) read into an hrmkit Config.
//
// Reads the layout of sapientinc/HRM and SamsungSAILMontreal/TinyRecursiveModels (HRM-SPEC 6.1):
// a primary file with a `defaults:` list (`- arch: hrm_v1` composes arch/hrm_v1.yaml from the
// file's folder under the key `arch`, `- _self_` places the file's own keys), the `${...}`
// interpolations those files use (`${.hidden_size}` relative to the enclosing node, `${a.b}` from
// the root), and Hydra's overrides (`key=value`, `+key=value`, `++key=value`, `~key`,
// `group=option`) with HRM's names (`lr`, `arch.L_cycles`, `arch.loss.loss_type`). A checkpoint's
// `all_config.yaml` (pydantic's dump of PretrainConfig, fully resolved) goes through the same reader.
//
// Strict: an unknown key, a wrong type, a bad interpolation or malformed YAML is an InputError
// naming the file and line (or the override token). Keys HRM/TRM accept that do not change the
// analysis (run_name, ema, ...) are kept in `ignored` so `hrm config convert` can say so.
#pragma once

#include <string>
#include <vector>

#include "common/config.hpp"

namespace hrm {

struct HrmYamlConfig {
  Config config;                          // source_format "hrm-yaml" or "command-line"
  std::string layout;                     // "HRM" (sapientinc/HRM pretrain.py) | "TRM" (TinyRecursiveModels)
  std::string arch_name;                  // arch.name as read, e.g. "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1"
  std::vector<std::string> ignored;       // "key = value  (file:line)": valid there, no effect on the analysis
};

// A primary config: a file on disk, or `text` read as if it were that file (Python dicts; the
// defaults shipped inside hrmkit, whose names start with "embedded:").
struct HydraSource {
  std::string path;
  std::string text;                       // empty: read `path`
};

// `overrides`: Hydra tokens, applied to the composed tree before interpolations resolve (as Hydra
// does); hrmkit keys (`hardware.num_gpus=8`, `task.horizon=long`, any `data.`/`train.`/`hardware.`/
// `task.` key) are applied to the Config afterwards. The result is validated.
HrmYamlConfig read_hrm_yaml_config(const HydraSource& primary, const std::vector<std::string>& overrides = {});
HrmYamlConfig load_hrm_yaml_config(const std::string& path, const std::vector<std::string>& overrides = {});

// The defaults of each repository as shipped (cfg_pretrain.yaml + arch/*.yaml), embedded so a pasted
// command line needs no checkout: "embedded:sapientinc/HRM/config/cfg_pretrain.yaml",
// "embedded:SamsungSAILMontreal/TinyRecursiveModels/config/cfg_pretrain.yaml" and their arch files.
std::string hrm_embedded_primary(const std::string& layout);   // "HRM" | "TRM" -> its cfg_pretrain.yaml name
const std::string* hrm_embedded_file(const std::string& name); // nullptr when not embedded

// True for an override that names an hrmkit key rather than a Hydra one (`hardware.num_gpus=8`).
bool is_hrmkit_override(const std::string& token);

// The equivalent hrmkit TOML: a header saying what was read and which keys were left out, then
// config_to_toml. Analyzing it gives the same report as the YAML (hrm config convert).
std::string hrm_yaml_to_toml(const HrmYamlConfig& c);

}  // namespace hrm
