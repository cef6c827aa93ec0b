// config.cpp: strict TOML -> Config, key=value overrides, validation, resolved TOML/JSON output.
#include "common/config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "common/error.hpp"
#include "common/json_format.hpp"

namespace hrm {
namespace {

const char* kind_name(const FieldRef& r) {
  switch (r.index()) {
    case 0: return "an integer";
    case 1: return "a number";
    case 2: return "a string";
    default: return "a boolean";
  }
}

std::string suggest(const std::string& key, Config& c) {
  std::string best;
  std::size_t best_d = 4;
  for (auto& f : config_fields(c)) {
    const auto d = edit_distance(key, f.key, best_d);
    if (d < best_d) { best_d = d; best = f.key; }
  }
  return best.empty() ? "see README.md 'Configuration' for the keys" : "did you mean '" + best + "'?";
}

ConfigField* find_field(std::vector<ConfigField>& fields, const std::string& key) {
  for (auto& f : fields) if (f.key == key) return &f;
  return nullptr;
}

// Assigns a TOML value to a field, with the type rules: integers are accepted where numbers are
// expected; nothing else converts.
void assign(ConfigField& f, const toml::node& v, const SourcePos& pos) {
  bool ok = false;
  std::visit([&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    if constexpr (std::is_same_v<T, std::int64_t>) {
      if (auto x = v.as_integer()) { *p = x->get(); ok = true; }
    } else if constexpr (std::is_same_v<T, double>) {
      if (auto x = v.as_floating_point()) { *p = x->get(); ok = true; }
      else if (auto y = v.as_integer()) { *p = static_cast<double>(y->get()); ok = true; }
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (auto x = v.as_string()) { *p = x->get(); ok = true; }
    } else {
      if (auto x = v.as_boolean()) { *p = x->get(); ok = true; }
    }
  }, f.ref);
  if (!ok) {
    std::ostringstream got;
    got << v.type();
    throw InputError(pos.str(), fmt::format("'{}' must be {}, got {}", f.key, kind_name(f.ref), got.str()),
                     "fix the value's type (quote strings; write 1e-4 or 0.0001 for numbers)");
  }
}

SourcePos pos_of(const toml::node& n, const std::string& file) {
  const auto& s = n.source();
  return SourcePos{file, static_cast<int>(s.begin.line), static_cast<int>(s.begin.column)};
}

void check(bool ok, const Config& c, const std::string& key, const std::string& what, const std::string& hint = {}) {
  if (!ok) throw InputError(c.position_of(key).str(), fmt::format("'{}' {}", key, what), hint);
}

}  // namespace

// Case-insensitive Levenshtein distance, for "did you mean" hints.
std::size_t edit_distance(const std::string& a, const std::string& b, std::size_t cap) {
  // The distance is at least the length difference: a fuzzed multi-kilobyte key skips the
  // O(|a| |b|) table (it took most of fuzz_config's time).
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) >= cap) return cap;
  const auto lower = [](char ch) { return std::tolower(static_cast<unsigned char>(ch)); };  // a negative char is UB
  std::vector<std::size_t> d(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) d[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t prev = d[0];
    d[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t t = d[j];
      d[j] = std::min({d[j] + 1, d[j - 1] + 1, prev + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1)});
      prev = t;
    }
  }
  return std::min(d[b.size()], cap);
}

std::string SourcePos::str() const {
  if (line <= 0) return file;
  return fmt::format("{}:{}:{}", file, line, column);
}

SourcePos Config::position_of(const std::string& key) const {
  auto it = positions.find(key);
  if (it != positions.end()) return it->second;
  return SourcePos{source_file, 0, 0};
}

std::vector<ConfigField> config_fields(Config& c) {
  return {
      {"data.path", &c.data.path},
      {"arch.family", &c.arch.family},
      {"arch.hidden_size", &c.arch.hidden_size},
      {"arch.H_cycles", &c.arch.H_cycles},
      {"arch.L_cycles", &c.arch.L_cycles},
      {"arch.H_layers", &c.arch.H_layers},
      {"arch.L_layers", &c.arch.L_layers},
      {"arch.expansion", &c.arch.expansion},
      {"arch.num_heads", &c.arch.num_heads},
      {"arch.pos_encodings", &c.arch.pos_encodings},
      {"arch.rms_norm_eps", &c.arch.rms_norm_eps},
      {"arch.rope_theta", &c.arch.rope_theta},
      {"arch.halt_max_steps", &c.arch.halt_max_steps},
      {"arch.halt_exploration_prob", &c.arch.halt_exploration_prob},
      {"arch.puzzle_emb_ndim", &c.arch.puzzle_emb_ndim},
      {"arch.puzzle_emb_len", &c.arch.puzzle_emb_len},
      {"arch.mlp_t", &c.arch.mlp_t},
      {"arch.loss_type", &c.arch.loss_type},
      {"arch.forward_dtype", &c.arch.forward_dtype},
      {"train.global_batch_size", &c.train.global_batch_size},
      {"train.epochs", &c.train.epochs},
      {"train.eval_interval", &c.train.eval_interval},
      {"train.lr", &c.train.lr},
      {"train.lr_min_ratio", &c.train.lr_min_ratio},
      {"train.lr_warmup_steps", &c.train.lr_warmup_steps},
      {"train.beta1", &c.train.beta1},
      {"train.beta2", &c.train.beta2},
      {"train.weight_decay", &c.train.weight_decay},
      {"train.puzzle_emb_lr", &c.train.puzzle_emb_lr},
      {"train.puzzle_emb_weight_decay", &c.train.puzzle_emb_weight_decay},
      {"train.seed", &c.train.seed},
      {"train.checkpoint_every_eval", &c.train.checkpoint_every_eval},
      {"hardware.num_gpus", &c.hardware.num_gpus},
      {"hardware.gpu_memory_gb", &c.hardware.gpu_memory_gb},
      {"hardware.interconnect", &c.hardware.interconnect},
      {"hardware.interconnect_gbps", &c.hardware.interconnect_gbps},
      {"hardware.gpu_tflops", &c.hardware.gpu_tflops},
      {"task.horizon", &c.task.horizon},
  };
}

Config parse_config(const std::string& text, const std::string& source_name) {
  Config c;
  c.source_file = source_name;
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    const auto& s = e.source();
    throw InputError(fmt::format("{}:{}:{}", source_name, s.begin.line, s.begin.column),
                     std::string("malformed TOML: ") + std::string(e.description()),
                     "check the TOML syntax at that position");
  }
  auto fields = config_fields(c);
  for (auto& [sec_key, sec_node] : root) {
    const std::string sec(sec_key.str());
    const SourcePos spos = pos_of(sec_node, source_name);
    auto* tbl = sec_node.as_table();
    if (!tbl) {
      throw InputError(spos.str(), fmt::format("unknown top-level key '{}'", sec),
                       "settings live in the sections [data], [arch], [train], [hardware], [task]");
    }
    for (auto& [k, v] : *tbl) {
      const std::string key = sec + "." + std::string(k.str());
      const SourcePos key_pos{source_name, static_cast<int>(k.source().begin.line), static_cast<int>(k.source().begin.column)};
      ConfigField* f = find_field(fields, key);
      if (!f) throw InputError(key_pos.str(), fmt::format("unknown key '{}'", key), suggest(key, c));
      assign(*f, v, pos_of(v, source_name));
      c.positions[key] = key_pos;
    }
  }
  if (c.data.path.empty())
    throw InputError(source_name, "'data.path' is missing", "add [data] path = \"data/<dataset folder>\"");
  validate_config(c);
  return c;
}

Config load_config(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, "cannot open config file", "give the path of a TOML config, e.g. configs/sudoku-extreme-1k.toml");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_config(ss.str(), path);
}

void apply_override(Config& c, const std::string& kv) {
  const auto eq = kv.find('=');
  const std::string where = fmt::format("override '{}'", kv);
  if (eq == std::string::npos || eq == 0)
    throw InputError(where, "expected KEY=VALUE", "e.g. train.global_batch_size=384");
  const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
  auto fields = config_fields(c);
  ConfigField* f = find_field(fields, key);
  if (!f) throw InputError(where, fmt::format("unknown key '{}'", key), suggest(key, c));
  const SourcePos pos{where, 0, 0};
  if (std::holds_alternative<std::string*>(f->ref)) {
    *std::get<std::string*>(f->ref) = value;   // strings need no quotes on a command line
  } else {
    toml::table t;
    try {
      const std::string doc = "v = " + value;
      t = toml::parse(std::string_view(doc), std::string_view("override"));
    } catch (const toml::parse_error&) {
      throw InputError(where, fmt::format("'{}' is not {}", value, kind_name(f->ref)));
    }
    assign(*f, *t.get("v"), pos);
  }
  c.positions[key] = pos;
  c.overrides.push_back(kv);
}

void validate_config(const Config& c) {
  const auto& a = c.arch;
  const auto& t = c.train;
  // The one free-form string: an override or a YAML value can carry any bytes, and resolved.toml,
  // config.json and the reports must be able to hold it (found by fuzz_config: data.path=x\xd4y).
  // parse_config says "missing" first; an override `data.path=` reaches this (found by fuzz_config).
  check(!c.data.path.empty(), c, "data.path", "is empty", "give the dataset folder, e.g. data.path=data/sudoku-extreme-1k-aug-1000");
  check(is_valid_utf8(c.data.path) && c.data.path.find('\0') == std::string::npos, c, "data.path",
        "is not valid UTF-8 text (or holds a NUL byte)", "give the dataset folder's path as plain text");
  const std::string pos = "must be a positive integer";
  const bool trm = a.family == "trm";
  check(a.family == "hrm" || trm, c, "arch.family", fmt::format("is '{}'; expected \"hrm\" or \"trm\"", a.family));
  check(a.hidden_size > 0, c, "arch.hidden_size", pos);
  check(a.H_cycles > 0, c, "arch.H_cycles", pos);
  check(a.L_cycles > 0, c, "arch.L_cycles", pos);
  if (trm) check(a.H_layers >= 0, c, "arch.H_layers", "must be >= 0 (TRM has no H module and ignores it)");
  else check(a.H_layers > 0, c, "arch.H_layers", pos);
  check(a.L_layers > 0, c, "arch.L_layers", pos);
  check(a.expansion > 0, c, "arch.expansion", "must be positive");
  check(a.num_heads > 0, c, "arch.num_heads", pos);
  check(a.hidden_size % std::max<std::int64_t>(a.num_heads, 1) == 0, c, "arch.num_heads",
        fmt::format("must divide arch.hidden_size ({})", a.hidden_size));
  // TRM's model runs without positions for anything else (its Sudoku MLP recipe passes "none"); HRM raises.
  check(a.pos_encodings == "rope" || a.pos_encodings == "learned" || (trm && a.pos_encodings == "none"), c,
        "arch.pos_encodings",
        fmt::format("is '{}'; expected \"rope\" or \"learned\"{}", a.pos_encodings, trm ? " (or \"none\" for TRM)" : ""));
  check(a.rms_norm_eps > 0, c, "arch.rms_norm_eps", "must be positive");
  check(a.rope_theta > 0, c, "arch.rope_theta", "must be positive");
  check(a.halt_max_steps > 0, c, "arch.halt_max_steps", pos);
  check(a.halt_exploration_prob >= 0 && a.halt_exploration_prob <= 1, c, "arch.halt_exploration_prob", "must be in [0, 1]");
  check(a.puzzle_emb_ndim >= -1, c, "arch.puzzle_emb_ndim", "must be >= 0 (or -1 for hidden_size)");
  check(a.puzzle_emb_len >= 0, c, "arch.puzzle_emb_len", "must be >= 0 (0: ceil(puzzle_emb_ndim / hidden_size))");
  check(a.loss_type == "stablemax_cross_entropy" || a.loss_type == "softmax_cross_entropy", c, "arch.loss_type",
        fmt::format("is '{}'; expected \"stablemax_cross_entropy\" or \"softmax_cross_entropy\"", a.loss_type));
  check(a.forward_dtype == "bfloat16" || a.forward_dtype == "float32", c, "arch.forward_dtype",
        fmt::format("is '{}'; expected \"bfloat16\" or \"float32\"", a.forward_dtype));
  check(t.global_batch_size > 0, c, "train.global_batch_size", pos);
  check(t.epochs > 0, c, "train.epochs", pos);
  check(t.eval_interval >= 0, c, "train.eval_interval", "must be >= 0 (0 = evaluate only at the end)");
  check(std::isfinite(t.lr) && t.lr >= 0, c, "train.lr", "must be a finite number >= 0");
  check(t.lr_min_ratio >= 0 && t.lr_min_ratio <= 1, c, "train.lr_min_ratio", "must be in [0, 1]");
  check(t.lr_warmup_steps >= 0, c, "train.lr_warmup_steps", "must be >= 0");
  check(t.beta1 >= 0 && t.beta1 < 1, c, "train.beta1", "must be in [0, 1)");
  check(t.beta2 >= 0 && t.beta2 < 1, c, "train.beta2", "must be in [0, 1)");
  check(t.weight_decay >= 0, c, "train.weight_decay", "must be >= 0");
  check(std::isfinite(t.puzzle_emb_lr) && t.puzzle_emb_lr >= 0, c, "train.puzzle_emb_lr", "must be a finite number >= 0");
  check(t.puzzle_emb_weight_decay >= 0, c, "train.puzzle_emb_weight_decay", "must be >= 0");
  check(t.seed >= 0 && t.seed < (std::int64_t(1) << 62), c, "train.seed", "must be >= 0");
  check(c.hardware.num_gpus > 0, c, "hardware.num_gpus", pos);
  check(c.hardware.gpu_memory_gb > 0, c, "hardware.gpu_memory_gb", "must be positive");
  const std::string& ic = c.hardware.interconnect;
  check(ic == "nvlink" || ic == "infiniband" || ic == "pcie" || ic == "ethernet", c, "hardware.interconnect",
        fmt::format("is '{}'; expected \"nvlink\", \"infiniband\", \"pcie\" or \"ethernet\"", ic));
  check(std::isfinite(c.hardware.interconnect_gbps) && c.hardware.interconnect_gbps >= 0, c, "hardware.interconnect_gbps",
        "must be a finite number >= 0 (0: the interconnect's default)");
  check(std::isfinite(c.hardware.gpu_tflops) && c.hardware.gpu_tflops > 0, c, "hardware.gpu_tflops", "must be positive");
  check(c.task.horizon == "short" || c.task.horizon == "long" || c.task.horizon == "auto", c, "task.horizon",
        fmt::format("is '{}'; expected \"short\", \"long\" or \"auto\"", c.task.horizon));
}

namespace {

// A TOML basic string, ASCII only, as json.dumps writes a BMP string, except where TOML differs:
// DEL (U+007F) is escaped (TOML forbids it raw, JSON does not: found by fuzz_config with
// data.path="\x7fy") and a character above U+FFFF is one \UXXXXXXXX (TOML rejects JSON's surrogate
// pairs: found by the regression test of that fuzz finding, with data.path="data/été 🧩").
std::string toml_string(const std::string& s) {
  if (!is_valid_utf8(s)) throw InputError("", "a string setting is not valid UTF-8", "validate the config first");
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    unsigned cp = c;
    if (c >= 0xF0) { extra = 3; cp = c & 0x07; }
    else if (c >= 0xE0) { extra = 2; cp = c & 0x0F; }
    else if (c >= 0xC0) { extra = 1; cp = c & 0x1F; }
    for (std::size_t k = 1; k <= extra; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += extra + 1;
    if (const char* e = short_escape(cp)) out += e;
    else if (cp >= 0x20 && cp < 0x7f) out += static_cast<char>(cp);
    else if (cp <= 0xFFFF) out += fmt::format("\\u{:04x}", cp);
    else out += fmt::format("\\U{:08x}", cp);
  }
  return out + "\"";
}

}  // namespace

std::string config_to_toml(const Config& cc) {
  Config c = cc;
  std::string out = "# resolved hrmkit config (every key, defaults filled in)\n";
  std::string section;
  for (auto& f : config_fields(c)) {
    const auto dot = f.key.find('.');
    const std::string sec = f.key.substr(0, dot), name = f.key.substr(dot + 1);
    if (sec != section) { out += (section.empty() ? "" : "\n") + ("[" + sec + "]\n"); section = sec; }
    std::visit([&](auto* p) {
      using T = std::remove_pointer_t<decltype(p)>;
      std::string v;
      if constexpr (std::is_same_v<T, std::int64_t>) v = std::to_string(*p);
      else if constexpr (std::is_same_v<T, double>) v = python_float_repr(*p);
      else if constexpr (std::is_same_v<T, std::string>) v = toml_string(*p);
      else v = *p ? "true" : "false";
      out += name + " = " + v + "\n";
    }, f.ref);
  }
  return out;
}

nlohmann::json config_to_json(const Config& cc) {
  Config c = cc;
  nlohmann::json j = nlohmann::json::object();
  for (auto& f : config_fields(c)) {
    const auto dot = f.key.find('.');
    auto& sec = j[f.key.substr(0, dot)];
    std::visit([&](auto* p) { sec[f.key.substr(dot + 1)] = *p; }, f.ref);
  }
  return j;
}

}  // namespace hrm
