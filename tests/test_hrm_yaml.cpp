// test_hrm_yaml.cpp: HRM's/TRM's hydra YAML and pasted command lines read into an hrmkit Config
// (common/hrm_yaml_config, common/hrm_command_line): defaults composition, ${...} interpolations,
// Hydra overrides with HRM's names, all_config.yaml, torchrun's GPU count, TRM's model shape, and
// every bad input as one InputError naming the file and line (or the token).
#include <doctest/doctest.h>

#include "analyzer/memory.hpp"
#include "common/error.hpp"
#include "common/hrm_command_line.hpp"
#include "common/hrm_yaml_config.hpp"
#include "test_util.hpp"

using namespace hrm;
using hrm_test::TempDir;
using hrm_test::write_file;

namespace {

std::string fixture(const std::string& rel) { return hrm_test::source_dir() + "/tests/fixtures/hrm_yaml/" + rel; }

// The InputError message of `f()`, or "" when it did not throw.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return std::string(e.what()) + (e.hint().empty() ? "" : "\nhint: " + e.hint());
  }
  return "";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A primary config beside a copy of HRM's arch/hrm_v1.yaml, with `body` after the defaults list.
std::string hrm_primary(const TempDir& t, const std::string& body, const std::string& name = "cfg.yaml") {
  std::filesystem::create_directories(t / "arch");
  std::filesystem::copy_file(fixture("hrm/config/arch/hrm_v1.yaml"), t / "arch/hrm_v1.yaml",
                             std::filesystem::copy_options::overwrite_existing);
  write_file(t / name, "defaults:\n  - arch: hrm_v1\n  - _self_\n\n" + body);
  return t / name;
}

const char* kRequired =
    "data_path: data/x\nglobal_batch_size: 768\nepochs: 100\neval_interval: 10\nlr: 1e-4\nlr_min_ratio: 1.0\n"
    "lr_warmup_steps: 20\nbeta1: 0.9\nbeta2: 0.95\nweight_decay: 0.1\npuzzle_emb_weight_decay: 0.1\npuzzle_emb_lr: 1e-2\n";

std::int64_t params_of(const ArchConfig& a, std::int64_t seq_len, std::int64_t vocab, std::int64_t ndim = 512) {
  return hrm_num_params(model_shape(a, ndim, seq_len, vocab), a.pos_encodings == "learned");
}

}  // namespace

TEST_CASE("hrm yaml: HRM's cfg_pretrain.yaml + arch/hrm_v1.yaml read to hrmkit's defaults, and the embedded copy agrees") {
  const HrmYamlConfig disk = load_hrm_yaml_config(fixture("hrm/config/cfg_pretrain.yaml"));
  Config expected;  // every hrmkit default is HRM's (common/config.hpp)
  expected.data.path = "data/arc-aug-1000";
  CHECK(config_to_toml(disk.config) == config_to_toml(expected));
  CHECK(disk.layout == "HRM");
  CHECK(disk.arch_name == "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1");
  CHECK(disk.config.arch.family == "hrm");
  CHECK(disk.config.arch.puzzle_emb_ndim == -1);   // ${.hidden_size} stays a reference
  CHECK(disk.config.source_format == "hrm-yaml");
  const HrmYamlConfig embedded = read_hrm_yaml_config(HydraSource{hrm_embedded_primary("HRM"), ""});
  CHECK(config_to_toml(embedded.config) == config_to_toml(disk.config));
  CHECK(embedded.config.source_format == "command-line");

  const HrmYamlConfig trm_disk = load_hrm_yaml_config(fixture("trm/config/cfg_pretrain.yaml"));
  const HrmYamlConfig trm_embedded = read_hrm_yaml_config(HydraSource{hrm_embedded_primary("TRM"), ""});
  CHECK(config_to_toml(trm_disk.config) == config_to_toml(trm_embedded.config));
  CHECK(trm_disk.layout == "TRM");
  CHECK(trm_disk.config.arch.family == "trm");
  CHECK(trm_disk.config.arch.L_layers == 2);
  CHECK(trm_disk.config.arch.H_cycles == 3);
  CHECK(trm_disk.config.arch.puzzle_emb_len == 16);
  CHECK(trm_disk.ignored.size() >= 6);             // ema, evaluators, no_ACT_continue, ...
}

TEST_CASE("hrm yaml: positions point into the YAML, so findings cite the user's file and line") {
  TempDir t;
  const auto path = hrm_primary(t, kRequired);
  const Config c = load_hrm_yaml_config(path).config;
  CHECK(c.position_of("train.lr").str() == path + ":9:1");           // defaults (4 lines) + lr on the 5th line of the body
  CHECK(c.position_of("data.path").str() == path + ":5:1");
  CHECK(has(c.position_of("arch.hidden_size").file, "arch/hrm_v1.yaml"));
  const Config o = load_hrm_yaml_config(path, {"lr=3e-4", "hardware.num_gpus=8"}).config;
  CHECK(o.train.lr == 3e-4);
  CHECK(o.hardware.num_gpus == 8);
  CHECK(o.position_of("train.lr").str() == "override 'lr=3e-4'");
  CHECK(o.overrides == std::vector<std::string>{"lr=3e-4", "hardware.num_gpus=8"});
}

TEST_CASE("hrm yaml: Hydra's overrides with HRM's names: key=value, +key, ++key, ~key, arch.loss.loss_type, lists") {
  TempDir t;
  const auto path = hrm_primary(t, kRequired);
  const Config c = load_hrm_yaml_config(path, {"arch.L_cycles=8", "arch.loss.loss_type=softmax_cross_entropy", "arch.halt_max_steps=8",
                                               "arch.pos_encodings=learned", "global_batch_size=2304", "+run_name=mine",
                                               "++seed=7", "eval_interval=null", "checkpoint_every_eval=False"})
                       .config;
  CHECK(c.arch.L_cycles == 8);
  CHECK(c.arch.loss_type == "softmax_cross_entropy");
  CHECK(c.arch.halt_max_steps == 8);
  CHECK(c.arch.pos_encodings == "learned");
  CHECK(c.train.global_batch_size == 2304);
  CHECK(c.train.seed == 7);
  CHECK(c.train.eval_interval == 0);        // None in pretrain.py: one iteration of all epochs
  CHECK_FALSE(c.train.checkpoint_every_eval);
  CHECK(has(error_of([&] { load_hrm_yaml_config(path, {"+lr=1"}); }), "'+' only adds new keys"));
  CHECK(has(error_of([&] { load_hrm_yaml_config(path, {"~lr"}); }), "'lr' is missing"));
  CHECK(has(error_of([&] { load_hrm_yaml_config(path, {"~nothing"}); }), "cannot delete 'nothing'"));
}

TEST_CASE("hrm yaml: ${.hidden_size} follows a hidden_size override, absolute, parent and in-string references resolve") {
  TempDir t;
  const auto path = hrm_primary(t, kRequired);
  const Config c = load_hrm_yaml_config(path, {"arch.hidden_size=256", "arch.num_heads=4"}).config;
  CHECK(c.puzzle_emb_ndim() == 256);
  const auto refs = hrm_primary(t, std::string(kRequired) + "arch:\n  rope_theta: ${..epochs}\n", "refs.yaml");
  CHECK(load_hrm_yaml_config(refs, {"puzzle_emb_lr=${lr}"}).config.train.puzzle_emb_lr == 1e-4);
  CHECK(load_hrm_yaml_config(refs).config.arch.rope_theta == 100.0);
  const Config s = load_hrm_yaml_config(refs, {"data_path=data/${arch.pos_encodings}-${epochs}"}).config;
  CHECK(s.data.path == "data/rope-100");
}

TEST_CASE("hrm yaml: a checkpoint's all_config.yaml (pydantic's dump) reads like the composed recipe") {
  const Config saved = load_hrm_yaml_config(fixture("checkpoints/sudoku-extreme-1k/all_config.yaml")).config;
  Config composed = load_hrm_yaml_config(fixture("hrm/config/sudoku_extreme_1k.yaml")).config;
  composed.arch.puzzle_emb_ndim = 512;      // all_config.yaml holds the resolved 512, hrm_v1.yaml the reference
  CHECK(config_to_toml(saved) == config_to_toml(composed));
  CHECK(saved.train.lr == 1e-4);
  CHECK(has(error_of([&] { load_hrm_yaml_config(fixture("checkpoints/sudoku-extreme-1k/all_config.yaml"), {"arch=trm"}); }),
            "no defaults list"));
}

TEST_CASE("hrm yaml: malformed YAML, unknown keys, wrong types and bad interpolations name the file and line") {
  TempDir t;
  struct Case { std::string body, expect; int line; };
  const std::vector<Case> cases = {
      {"lr: [1e-4\n", "malformed YAML", 0},
      {std::string(kRequired) + "lrr: 1\n", "unknown key 'lrr'", 17},
      {std::string(kRequired) + "arch:\n  L_cycle: 8\n", "unknown key 'arch.L_cycle'", 18},
      {std::string(kRequired) + "arch:\n  puzzle_emb_ndim: ${.hidden}\n", "there is no key 'arch.hidden'", 18},
      {std::string(kRequired) + "arch:\n  rope_theta: ${oc.env:HOME}\n", "resolver interpolation", 18},
      {std::string(kRequired) + "arch:\n  rope_theta: ${.rope_theta\n", "unterminated interpolation", 18},
      {std::string(kRequired) + "seed: ${project_name}\nproject_name: ${seed}\n", "interpolation cycle", 0},
      {std::string(kRequired) + "ema: True\n", "TinyRecursiveModels setting", 17},
      {std::string(kRequired) + "arch:\n  puzzle_emb_len: 4\n", "is a TRM setting", 18},
      {std::string(kRequired) + "arch:\n  name: models.foo@Bar\n", "neither HRM nor TRM", 18},
      {std::string(kRequired) + "lr: 2e-4\n", "duplicate key 'lr'", 17},
  };
  for (const auto& c : cases) {
    const auto path = hrm_primary(t, c.body);
    const std::string err = error_of([&] { load_hrm_yaml_config(path); });
    CAPTURE(c.body);
    CAPTURE(err);
    CHECK(has(err, c.expect));
    CHECK(has(err, path + ":"));
    if (c.line > 0) CHECK(has(err, path + ":" + std::to_string(c.line) + ":"));
  }
  const auto typed = hrm_primary(t, std::string(kRequired) + "arch:\n  H_cycles: many\n");
  CHECK(has(error_of([&] { load_hrm_yaml_config(typed); }), "'arch.H_cycles' must be an integer, got 'many'"));
  CHECK(has(error_of([&] { load_hrm_yaml_config(hrm_primary(t, kRequired), {"arch.L_cycle=8"}); }),
            "override 'arch.L_cycle=8': unknown key 'arch.L_cycle'"));
  write_file(t / "nogroup.yaml", "defaults:\n  - arch: nope\n  - _self_\n" + std::string(kRequired));
  CHECK(has(error_of([&] { load_hrm_yaml_config(t / "nogroup.yaml"); }), t / "nogroup.yaml:2:"));
  CHECK(has(error_of([&] { load_hrm_yaml_config(t / "missing.yaml"); }), "cannot open HRM config file"));
  write_file(t / "list.yaml", "- 1\n- 2\n");
  CHECK(has(error_of([&] { load_hrm_yaml_config(t / "list.yaml"); }), "expected a mapping"));
}

TEST_CASE("command line: the GPU count is nnodes x nproc-per-node, python pretrain.py is one GPU, env prefixes are skipped") {
  CHECK(parse_launch_command({"torchrun", "--nproc-per-node", "8", "pretrain.py"}).gpus == 8);
  CHECK(parse_launch_command({"torchrun", "--nproc_per_node=4", "--nnodes", "2", "pretrain.py"}).gpus == 8);
  CHECK(parse_launch_command({"OMP_NUM_THREADS=8", "torchrun", "--nproc-per-node", "8", "pretrain.py", "lr=1e-4"}).overrides ==
        std::vector<std::string>{"lr=1e-4"});
  CHECK(parse_launch_command({"OMP_NUM_THREADS=8", "python", "pretrain.py", "lr=7e-5"}).gpus == 1);
  CHECK(parse_launch_command({"python3", "-m", "torch.distributed.run", "--nproc_per_node", "2", "pretrain.py"}).gpus == 2);
  const auto rdzv = parse_launch_command({"torchrun", "--nproc-per-node", "4", "--rdzv_backend=c10d", "--rdzv_endpoint=localhost:0",
                                          "--nnodes=1", "pretrain.py", "arch=trm"});
  CHECK(rdzv.gpus == 4);
  const auto pasted = parse_launch_command({"OMP_NUM_THREADS=8 torchrun --nproc-per-node 8 pretrain.py \\\n data_path=\"data/a b\" lr=1e-4"});
  CHECK(pasted.gpus == 8);
  CHECK(pasted.overrides == std::vector<std::string>{"data_path=data/a b", "lr=1e-4"});
  CHECK(has(error_of([] { parse_launch_command({"torchrun", "--nproc-per-node", "gpu", "pretrain.py"}); }), "'--nproc-per-node gpu'"));
  CHECK(has(error_of([] { parse_launch_command({"torchrun", "--frobnicate", "pretrain.py"}); }), "'--frobnicate': unknown torchrun flag"));
  CHECK(has(error_of([] { parse_launch_command({"torchrun", "evaluate.py", "checkpoint=x"}); }), "all_config.yaml"));
  CHECK(has(error_of([] { parse_launch_command({"deepspeed", "pretrain.py"}); }), "expected torchrun or python"));
  CHECK(has(error_of([] { parse_launch_command({"torchrun", "--nnodes", "1:4", "pretrain.py"}); }), "elastic"));
}

TEST_CASE("command line: overrides apply on HRM's embedded defaults, an unknown override names the token") {
  const HrmYamlConfig r = hrm_command_line_config(
      {"OMP_NUM_THREADS=8", "torchrun", "--nproc-per-node", "8", "pretrain.py", "data_path=data/sudoku-hard-full", "epochs=100",
       "eval_interval=10", "lr_min_ratio=0.1", "global_batch_size=2304", "lr=3e-4", "arch.L_cycles=8", "arch.pos_encodings=learned"});
  const Config& c = r.config;
  CHECK(c.hardware.num_gpus == 8);
  CHECK(c.data.path == "data/sudoku-hard-full");
  CHECK(c.train.global_batch_size == 2304);
  CHECK(c.arch.L_cycles == 8);
  CHECK(c.train.lr_warmup_steps == 2000);        // HRM's default
  CHECK(c.source_format == "command-line");
  CHECK(c.source_file == "torchrun --nproc-per-node 8 pretrain.py");
  CHECK(c.position_of("hardware.num_gpus").str() == "command line '--nproc-per-node 8'");
  CHECK(hrm_command_line_config({"torchrun", "--nproc-per-node", "8", "pretrain.py"}, {"hardware.num_gpus=4"}).config.hardware.num_gpus == 4);
  const std::string err = error_of([] { hrm_command_line_config({"torchrun", "pretrain.py", "learning_rate=1e-4"}); });
  CHECK(has(err, "override 'learning_rate=1e-4': unknown key 'learning_rate'"));
  CHECK(has(error_of([] { hrm_command_line_config({"torchrun", "pretrain.py", "lr"}); }), "override 'lr': expected KEY=VALUE"));
  CHECK(has(error_of([] { hrm_command_line_config({"torchrun", "pretrain.py", "lr=fast"}); }), "'lr' must be a number, got 'fast'"));
}

TEST_CASE("TRM: arch=trm and data_paths select TinyRecursiveModels' defaults, the parameter count is TRM's") {
  // TRM README's ARC-AGI-1 command (4 GPUs) and its Sudoku MLP command (1 GPU).
  const HrmYamlConfig arc = hrm_command_line_config(
      {"torchrun", "--nproc-per-node", "4", "--rdzv_backend=c10d", "--rdzv_endpoint=localhost:0", "--nnodes=1", "pretrain.py",
       "arch=trm", "data_paths=[data/arc1concept-aug-1000]", "arch.L_layers=2", "arch.H_cycles=3", "arch.L_cycles=4",
       "+run_name=pretrain_att_arc1concept_4", "ema=True"});
  CHECK(arc.layout == "TRM");
  CHECK(arc.config.arch.family == "trm");
  CHECK(arc.config.hardware.num_gpus == 4);
  CHECK(arc.config.data.path == "data/arc1concept-aug-1000");
  CHECK(arc.config.arch.L_cycles == 4);
  const HrmYamlConfig mlp = hrm_command_line_config(
      {"python", "pretrain.py", "arch=trm", "data_paths=[data/sudoku-extreme-1k-aug-1000]", "evaluators=[]", "epochs=50000",
       "eval_interval=5000", "lr=1e-4", "puzzle_emb_lr=1e-4", "weight_decay=1.0", "puzzle_emb_weight_decay=1.0", "arch.mlp_t=True",
       "arch.pos_encodings=none", "arch.L_layers=2", "arch.H_cycles=3", "arch.L_cycles=6", "+run_name=x", "ema=True"});
  CHECK(mlp.config.arch.mlp_t);
  CHECK(mlp.config.hardware.num_gpus == 1);
  // Counted from TinyRecursiveModels' trm.py (one L_level of L_layers blocks, no H_level): the
  // same numbers as sum(p.numel() for p in model.parameters()) of that code.
  ArchConfig att = hrm_command_line_config({"python", "pretrain.py", "arch=trm"}).config.arch;
  CHECK(params_of(att, 81, 11) == 6828034);        // TRM-Att, Sudoku (T = 81 + 16 puzzle positions)
  CHECK(params_of(att, 900, 12) == 6829058);       // TRM-Att, ARC
  CHECK(params_of(mlp.config.arch, 81, 11) == 5028866);   // TRM-MLP: a token SwiGLU (97 -> 512 -> 97) replaces attention
  att.pos_encodings = "learned";
  CHECK(params_of(att, 81, 11) == 6877698);        // + (81 + 16) x 512 position table
  const ModelShape s = model_shape(arc.config.arch, 512, 900, 12);
  CHECK(s.layers == 2);
  CHECK(s.grad_blocks == (4 + 1) * 2);             // the last H cycle: L_cycles calls for z_L + one for z_H
  CHECK(s.tokens == 916);
  ArchConfig hrm_arch;                             // HRM unchanged: 27,275,266 for Sudoku
  CHECK(params_of(hrm_arch, 81, 11) == 27275266);
  CHECK(model_shape(hrm_arch, 512, 81, 11).grad_blocks == 8);
  CHECK(has(error_of([] { hrm_command_line_config({"python", "pretrain.py", "arch=trm", "data_paths=[a,b]"}); }), "one dataset"));
  CHECK(has(error_of([] { hrm_command_line_config({"python", "pretrain.py", "arch=trm_hier6"}); }), "trm_hier6.yaml"));
  CHECK(has(error_of([] { hrm_command_line_config({"python", "pretrain.py", "arch=trm", "arch.pos_encodings=alibi"}); }),
            "'arch.pos_encodings' is 'alibi'"));
}

TEST_CASE("convert: the TOML of a YAML parses back to the same Config, with the left-out keys listed") {
  const HrmYamlConfig trm = load_hrm_yaml_config(fixture("trm/config/cfg_pretrain.yaml"), {"hardware.num_gpus=4"});
  const std::string toml = hrm_yaml_to_toml(trm);
  CHECK(has(toml, "# read but not part of hrmkit's analysis:"));
  CHECK(has(toml, "ema = False"));
  CHECK(has(toml, "family = \"trm\""));
  const Config back = parse_config(toml, "converted.toml");
  CHECK(config_to_toml(back) == config_to_toml(trm.config));
  const HrmYamlConfig hrm = load_hrm_yaml_config(fixture("hrm/config/sudoku_hard_full.yaml"));
  CHECK(has(hrm_yaml_to_toml(hrm), "does not record the GPU count"));
  CHECK(config_to_toml(parse_config(hrm_yaml_to_toml(hrm), "c.toml")) == config_to_toml(hrm.config));
}

// Found by fuzz_hrm_yaml (tests/fuzz/corpus/hrm_yaml/regress-control-char-in-ignored-key): a left-out
// key's value went into a TOML comment as written, so a control character made the converted TOML
// unreadable, and a newline could end the comment and inject keys.
TEST_CASE("convert fuzz regression: newlines, control bytes and invalid UTF-8 of left-out keys stay inside their comment") {
  TempDir t;
  const std::string body = std::string(kRequired) + "run_name: \"x\\n[data]\\npath = \\\"injected\\\"\"\nproject_name: \"a\\x01b\\x7f\\xff\"\n";
  const HrmYamlConfig c = load_hrm_yaml_config(hrm_primary(t, body), {"+checkpoint_path=\x02\xc3"});
  const std::string toml = hrm_yaml_to_toml(c);
  CHECK(has(toml, "\\x0a[data]\\x0apath"));
  CHECK(has(toml, "a\\x01b\\x7f"));
  const Config back = parse_config(toml, "converted.toml");
  CHECK(back.data.path == "data/x");
  CHECK(config_to_toml(back) == config_to_toml(c.config));
}
