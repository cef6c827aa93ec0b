// hrm_yaml_config.cpp: hydra YAML (HRM, TRM) -> a tree with source positions -> defaults composed
// -> overrides applied -> `${...}` resolved -> mapped key by key onto Config (yaml-cpp parses).
//
// The tree is our own (YNode) rather than yaml-cpp's nodes: composition copies and merges
// subtrees, and every value keeps the file:line:col (or override token) where it was written, so
// the analyzer's findings point into the user's YAML.
#include "common/hrm_yaml_config.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "common/error.hpp"
#include "common/json_format.hpp"

namespace hrm {
namespace {

struct YNode {
  enum class Kind { Null, Scalar, Seq, Map };
  Kind kind = Kind::Null;
  std::string scalar;
  bool quoted = false;                                 // a quoted scalar is a string, whatever it spells
  std::vector<YNode> items;
  std::vector<std::pair<std::string, YNode>> fields;   // file order
  SourcePos pos;                                       // where the key (or list item) was written
  std::string ref;                                     // a whole `${...}`: the absolute path it copied

  // Declared here, defaulted after the struct: clang 14 with libstdc++ 12 instantiates the implicit
  // members of std::vector<std::pair<std::string, YNode>> while YNode is still incomplete (g++ defers).
  YNode();
  YNode(const YNode&);
  YNode(YNode&&) noexcept;
  YNode& operator=(const YNode&);
  YNode& operator=(YNode&&) noexcept;
  ~YNode();

  YNode* get(const std::string& k) {
    for (auto& f : fields) if (f.first == k) return &f.second;
    return nullptr;
  }
  const YNode* get(const std::string& k) const {
    for (const auto& f : fields) if (f.first == k) return &f.second;
    return nullptr;
  }
};

YNode::YNode() = default;
YNode::YNode(const YNode&) = default;
YNode::YNode(YNode&&) noexcept = default;
YNode& YNode::operator=(const YNode&) = default;
YNode& YNode::operator=(YNode&&) noexcept = default;
YNode::~YNode() = default;

using Kind = YNode::Kind;

std::string render(const YNode& n) {
  switch (n.kind) {
    case Kind::Null: return "null";
    case Kind::Scalar: return n.quoted ? "'" + n.scalar + "'" : n.scalar;
    case Kind::Seq: {
      std::string s = "[";
      for (std::size_t i = 0; i < n.items.size(); ++i) s += (i ? ", " : "") + render(n.items[i]);
      return s + "]";
    }
    case Kind::Map: {
      std::string s = "{";
      for (std::size_t i = 0; i < n.fields.size(); ++i) s += (i ? ", " : "") + n.fields[i].first + ": " + render(n.fields[i].second);
      return s + "}";
    }
  }
  return "";
}

SourcePos mark_pos(const std::string& file, const YAML::Mark& m, const SourcePos& fallback) {
  if (m.line < 0) return fallback;
  return SourcePos{file, m.line + 1, m.column + 1};
}

YNode from_yaml(const YAML::Node& n, const std::string& file, const SourcePos& pos) {
  YNode y;
  y.pos = pos;
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: break;
    case YAML::NodeType::Scalar:
      y.kind = Kind::Scalar;
      y.scalar = n.Scalar();
      y.quoted = n.Tag() == "!";  // yaml-cpp tags plain scalars "?" and quoted ones "!"
      break;
    case YAML::NodeType::Sequence:
      y.kind = Kind::Seq;
      for (const auto& item : n) y.items.push_back(from_yaml(item, file, mark_pos(file, item.Mark(), pos)));
      break;
    case YAML::NodeType::Map:
      y.kind = Kind::Map;
      for (auto it = n.begin(); it != n.end(); ++it) {
        const SourcePos kpos = mark_pos(file, it->first.Mark(), pos);
        if (!it->first.IsScalar()) throw InputError(kpos.str(), "expected a plain key", "keys of HRM's config are names like lr or arch");
        const std::string key = it->first.Scalar();
        if (y.get(key)) throw InputError(kpos.str(), fmt::format("duplicate key '{}'", key), "keep one of them");
        y.fields.emplace_back(key, from_yaml(it->second, file, kpos));
      }
      break;
  }
  return y;
}

void set_pos(YNode& n, const SourcePos& pos) {
  n.pos = pos;
  for (auto& i : n.items) set_pos(i, pos);
  for (auto& f : n.fields) set_pos(f.second, pos);
}

YNode parse_yaml(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}:{}:{}", name, e.mark.line + 1, e.mark.column + 1), "malformed YAML: " + e.msg,
                     "check the YAML syntax at that position (indentation, ': ' after keys, closed brackets and quotes)");
  }
  return from_yaml(root, name, SourcePos{name, 1, 1});
}

std::string read_text(const std::string& path, const SourcePos* referenced_at) {
  if (const std::string* e = hrm_embedded_file(path)) return *e;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (referenced_at)
      throw InputError(referenced_at->str(), fmt::format("cannot open {}", path),
                       "Hydra composes config groups from the primary file's folder: put arch/<name>.yaml beside it");
    throw InputError(path, "cannot open HRM config file", "give an HRM/TRM YAML such as config/cfg_pretrain.yaml or a checkpoint's all_config.yaml");
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

YNode load_map(const std::string& path, const std::string& text) {
  YNode root = parse_yaml(text, path);
  if (root.kind == Kind::Null) { root.kind = Kind::Map; return root; }
  if (root.kind != Kind::Map)
    throw InputError(SourcePos{path, 1, 1}.str(), "expected a mapping of keys (key: value) at the top level",
                     "HRM's config files are YAML mappings such as 'lr: 1e-4'");
  return root;
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Deep merge as OmegaConf.merge: mappings merge key by key, anything else is replaced.
void merge(YNode& dst, const YNode& src) {
  if (dst.kind == Kind::Map && src.kind == Kind::Map) {
    for (const auto& [k, v] : src.fields) {
      if (YNode* d = dst.get(k)) merge(*d, v);
      else dst.fields.emplace_back(k, v);
    }
  } else {
    dst = src;
  }
}

struct Override {
  std::string token;
  std::string op;        // "=" set, "+" add, "++" add or set, "~" delete
  std::string key;
  std::string value;
  SourcePos pos() const { return SourcePos{fmt::format("override '{}'", token), 0, 0}; }
};

Override parse_override(const std::string& tok) {
  Override o;
  o.token = tok;
  std::string rest = tok;
  if (rest.rfind("++", 0) == 0) { o.op = "++"; rest = rest.substr(2); }
  else if (rest.rfind('+', 0) == 0) { o.op = "+"; rest = rest.substr(1); }
  else if (rest.rfind('~', 0) == 0) { o.op = "~"; rest = rest.substr(1); }
  else o.op = "=";
  const auto eq = rest.find('=');
  if (eq == std::string::npos && o.op != "~")
    throw InputError(o.pos().str(), "expected KEY=VALUE (a Hydra override)", "e.g. lr=1e-4, arch.L_cycles=8 or +run_name=mine");
  o.key = rest.substr(0, eq);
  if (eq != std::string::npos) o.value = rest.substr(eq + 1);
  const bool ok = !o.key.empty() && o.key.front() != '.' && o.key.back() != '.' &&
                  std::all_of(o.key.begin(), o.key.end(), [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.'; });
  if (!ok) throw InputError(o.pos().str(), fmt::format("'{}' is not a config key", o.key), "keys are dotted names such as arch.L_cycles");
  return o;
}

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == '.') { out.push_back(cur); cur.clear(); }
    else cur += ch;
  }
  out.push_back(cur);
  return out;
}

YNode override_value(const Override& o) {
  YNode v;
  if (o.value.empty()) {
    v.kind = Kind::Scalar;
    v.quoted = true;   // Hydra: `key=` is the empty string
  } else {
    try {
      v = from_yaml(YAML::Load(o.value), o.pos().file, o.pos());
    } catch (const YAML::Exception& e) {
      throw InputError(o.pos().str(), fmt::format("value '{}' cannot be read ({})", o.value, e.msg),
                       "quote strings with special characters, write lists as [a,b]");
    }
  }
  set_pos(v, o.pos());
  return v;
}

void apply_tree_override(YNode& root, const Override& o) {
  const auto parts = split_dots(o.key);
  YNode* cur = &root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YNode* next = cur->get(parts[i]);
    if (!next) {
      if (o.op == "~") throw InputError(o.pos().str(), fmt::format("cannot delete '{}': it is not in the config", o.key));
      YNode m;
      m.kind = Kind::Map;
      m.pos = o.pos();
      cur->fields.emplace_back(parts[i], m);
      next = &cur->fields.back().second;
    }
    if (next->kind != Kind::Map)
      throw InputError(o.pos().str(), fmt::format("cannot set '{}': '{}' is not a mapping", o.key, parts[i]));
    cur = next;
  }
  const std::string& last = parts.back();
  YNode* existing = cur->get(last);
  if (o.op == "~") {
    if (!existing) throw InputError(o.pos().str(), fmt::format("cannot delete '{}': it is not in the config", o.key));
    cur->fields.erase(std::find_if(cur->fields.begin(), cur->fields.end(), [&](const auto& f) { return f.first == last; }));
    return;
  }
  if (o.op == "+" && existing)
    throw InputError(o.pos().str(), fmt::format("'{}' is already in the config; '+' only adds new keys", o.key),
                     fmt::format("write {}={} (or ++{}={})", o.key, o.value, o.key, o.value));
  YNode v = override_value(o);
  if (existing) *existing = std::move(v);
  else cur->fields.emplace_back(last, std::move(v));
}

// `defaults:` composition (Hydra 1.1+): the list's entries merge in order; `_self_` is where the
// file's own keys go, at the end when it is not listed. `group=option` overrides pick the option.
YNode compose(const std::string& path, const std::string& text, std::vector<Override>& overrides) {
  YNode root = load_map(path, text);
  YNode defaults;
  auto it = std::find_if(root.fields.begin(), root.fields.end(), [](const auto& f) { return f.first == "defaults"; });
  if (it != root.fields.end()) {
    defaults = it->second;
    root.fields.erase(it);
  }
  if (auto h = std::find_if(root.fields.begin(), root.fields.end(), [](const auto& f) { return f.first == "hydra"; });
      h != root.fields.end())
    root.fields.erase(h);  // Hydra's own settings (output folders): nothing for training
  if (defaults.kind != Kind::Null && defaults.kind != Kind::Seq)
    throw InputError(defaults.pos.str(), "'defaults' must be a list", "e.g. defaults: [ {arch: hrm_v1}, _self_ ]");

  std::set<std::string> groups;
  for (const auto& item : defaults.items)
    if (item.kind == Kind::Map && item.fields.size() == 1) groups.insert(item.fields[0].first);
  std::map<std::string, std::pair<std::string, SourcePos>> selected;  // group -> (option, override)
  std::vector<Override> rest;
  for (const auto& o : overrides) {
    if (o.op == "=" && o.key.find('.') == std::string::npos && groups.count(o.key)) selected[o.key] = {o.value, o.pos()};
    else if (o.op == "=" && o.key == "arch" && groups.empty())
      throw InputError(o.pos().str(), fmt::format("{} has no defaults list to choose an arch from", path),
                       "a resolved config (all_config.yaml) spells arch out: override its keys, e.g. arch.L_cycles=8");
    else rest.push_back(o);
  }
  overrides = rest;

  YNode result;
  result.kind = Kind::Map;
  result.pos = root.pos;
  bool self_done = false;
  for (const auto& item : defaults.items) {
    if (item.kind == Kind::Scalar && item.scalar == "_self_") {
      merge(result, root);
      self_done = true;
      continue;
    }
    if (item.kind != Kind::Map || item.fields.size() != 1 || item.fields[0].second.kind == Kind::Map ||
        item.fields[0].second.kind == Kind::Seq)
      throw InputError(item.pos.str(), "expected '- GROUP: OPTION' or '- _self_' in the defaults list",
                       "HRM's cfg_pretrain.yaml has '- arch: hrm_v1' and '- _self_'");
    std::string group = item.fields[0].first;
    const YNode& opt = item.fields[0].second;
    if (!group.empty() && group.front() == '/') group = group.substr(1);
    if (group.find(' ') != std::string::npos)
      throw InputError(item.pos.str(), fmt::format("defaults entry '{}' is not supported", group),
                       "hrmkit composes plain '- GROUP: OPTION' entries");
    std::string option = opt.kind == Kind::Scalar ? opt.scalar : "";
    SourcePos chosen_at = item.pos;
    if (auto s = selected.find(group); s != selected.end()) std::tie(option, chosen_at) = s->second;
    if (option.empty() || option == "null") continue;
    const std::string file = parent_of(path) + "/" + group + "/" + option + ".yaml";
    YNode sub = load_map(file, read_text(file, &chosen_at));
    if (sub.get("defaults"))
      throw InputError(sub.get("defaults")->pos.str(), "a nested defaults list is not supported", "inline the composed keys");
    YNode* slot = result.get(group);
    if (!slot) {
      YNode m;
      m.kind = Kind::Map;
      m.pos = item.pos;
      result.fields.emplace_back(group, m);
      slot = &result.fields.back().second;
    }
    merge(*slot, sub);
  }
  if (!self_done) merge(result, root);
  return result;
}

// `${...}` as OmegaConf resolves it: a whole-value reference copies the referenced node (its type
// too); references inside a longer string are replaced by the scalar text. `${.x}` is relative to
// the mapping holding the value (each extra dot goes one level up), `${a.b}` starts at the root.
struct Resolver {
  YNode& root;
  std::set<std::string> active;

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }
  static std::string parent(const std::string& p) {
    const auto dot = p.rfind('.');
    return dot == std::string::npos ? "" : p.substr(0, dot);
  }

  YNode* lookup(const std::string& path) {
    YNode* cur = &root;
    if (path.empty()) return cur;
    for (const auto& part : split_dots(path)) {
      if (cur->kind == Kind::Map) cur = cur->get(part);
      else if (cur->kind == Kind::Seq) {
        std::size_t i = 0;
        auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), i);
        cur = ec == std::errc() && p == part.data() + part.size() && i < cur->items.size() ? &cur->items[i] : nullptr;
      } else cur = nullptr;
      if (!cur) return nullptr;
    }
    return cur;
  }

  std::string target_of(const std::string& ref, const std::string& container, const YNode& at) {
    const std::string where = at.pos.str();
    if (ref.empty()) throw InputError(where, "empty interpolation '${}'", "write ${.key} or ${section.key}");
    if (ref.find(':') != std::string::npos)
      throw InputError(where, fmt::format("resolver interpolation '${{{}}}' is not supported", ref),
                       "hrmkit resolves references to other keys (${.hidden_size}); write the value itself");
    if (ref.front() != '.') return ref;
    std::size_t dots = 0;
    while (dots < ref.size() && ref[dots] == '.') ++dots;
    std::string base = container;
    for (std::size_t i = 1; i < dots; ++i) {
      if (base.empty()) throw InputError(where, fmt::format("interpolation '${{{}}}' goes above the top of the config", ref));
      base = parent(base);
    }
    const std::string rest = ref.substr(dots);
    if (rest.empty()) throw InputError(where, fmt::format("interpolation '${{{}}}' names no key", ref));
    return join(base, rest);
  }

  YNode& resolved(const std::string& target, const std::string& ref, const YNode& at) {
    YNode* t = lookup(target);
    if (!t)
      throw InputError(at.pos.str(), fmt::format("interpolation '${{{}}}': there is no key '{}'", ref, target),
                       "a relative reference ${.key} names a key of the same mapping");
    resolve(*t, target);
    return *t;
  }

  void resolve(YNode& n, const std::string& path) {
    if (n.kind == Kind::Map) {
      for (auto& [k, v] : n.fields) resolve(v, join(path, k));
      return;
    }
    if (n.kind == Kind::Seq) {
      for (std::size_t i = 0; i < n.items.size(); ++i) resolve(n.items[i], join(path, std::to_string(i)));
      return;
    }
    if (n.kind != Kind::Scalar || n.scalar.find("${") == std::string::npos) return;
    if (active.count(path))
      throw InputError(n.pos.str(), fmt::format("interpolation cycle through '{}'", path), "one of the references must be a value");
    active.insert(path);
    const std::string s = n.scalar, container = parent(path);
    std::string out;
    std::size_t i = 0, refs = 0;
    bool whole = false;
    std::string whole_ref;
    while (i < s.size()) {
      const auto open = s.find("${", i);
      if (open == std::string::npos) { out += s.substr(i); break; }
      out += s.substr(i, open - i);
      const auto close = s.find('}', open + 2);
      if (close == std::string::npos)
        throw InputError(n.pos.str(), fmt::format("unterminated interpolation in '{}'", s), "close it with '}'");
      const std::string ref = s.substr(open + 2, close - open - 2);
      if (ref.find("${") != std::string::npos)
        throw InputError(n.pos.str(), fmt::format("nested interpolation in '{}' is not supported", s));
      ++refs;
      if (open == 0 && close == s.size() - 1) { whole = true; whole_ref = ref; break; }
      const YNode& t = resolved(target_of(ref, container, n), ref, n);
      if (t.kind != Kind::Scalar)
        throw InputError(n.pos.str(), fmt::format("interpolation '${{{}}}' inside a string must name a single value", ref));
      out += t.scalar;
      i = close + 1;
    }
    if (whole && refs == 1) {
      const std::string target = target_of(whole_ref, container, n);
      YNode copy = resolved(target, whole_ref, n);
      copy.ref = target;
      set_pos(copy, n.pos);
      n = copy;
    } else {
      n.scalar = out;
      n.quoted = true;
    }
    active.erase(path);
  }
};

// ---- mapping onto Config --------------------------------------------------------------------

struct KeySpec {
  const char* name;        // HRM's name, relative to its section
  const char* key;         // hrmkit key ("" when ignored)
  const char* where;       // layouts/families that have it: "HRM TRM", "TRM", "hrm trm", "trm"
  bool required;           // pydantic requires it (no default in the class)
  const char* note;        // ignored keys: why the analysis does not need it
};

// PretrainConfig of sapientinc/HRM pretrain.py and of TinyRecursiveModels pretrain.py.
const KeySpec kTopKeys[] = {
    {"data_path", "data.path", "HRM", true, ""},
    {"data_paths", "data.path", "TRM", true, ""},
    {"global_batch_size", "train.global_batch_size", "HRM TRM", true, ""},
    {"epochs", "train.epochs", "HRM TRM", true, ""},
    {"eval_interval", "train.eval_interval", "HRM TRM", false, ""},
    {"checkpoint_every_eval", "train.checkpoint_every_eval", "HRM TRM", false, ""},
    {"lr", "train.lr", "HRM TRM", true, ""},
    {"lr_min_ratio", "train.lr_min_ratio", "HRM TRM", true, ""},
    {"lr_warmup_steps", "train.lr_warmup_steps", "HRM TRM", true, ""},
    {"weight_decay", "train.weight_decay", "HRM TRM", true, ""},
    {"beta1", "train.beta1", "HRM TRM", true, ""},
    {"beta2", "train.beta2", "HRM TRM", true, ""},
    {"puzzle_emb_lr", "train.puzzle_emb_lr", "HRM TRM", true, ""},
    {"puzzle_emb_weight_decay", "train.puzzle_emb_weight_decay", "HRM TRM", true, ""},
    {"seed", "train.seed", "HRM TRM", false, ""},
    {"project_name", "", "HRM TRM", false, "W&B project name"},
    {"run_name", "", "HRM TRM", false, "W&B run name"},
    {"checkpoint_path", "", "HRM TRM", false, "where checkpoints go"},
    {"eval_save_outputs", "", "HRM TRM", false, "evaluation outputs to save"},
    {"data_paths_test", "", "TRM", false, "test split only"},
    {"evaluators", "", "TRM", false, "evaluation only"},
    {"load_checkpoint", "", "TRM", false, "initial weights"},
    {"min_eval_interval", "", "TRM", false, "evaluation only"},
    {"ema", "", "TRM", false, "EMA of the weights: no effect on the schedule, batch or memory plan (approx.)"},
    {"ema_rate", "", "TRM", false, "EMA of the weights"},
    {"freeze_weights", "", "TRM", false, "trains only the puzzle embeddings: the analysis still plans the full model"},
};

// The model config classes (HRM-SPEC 1.1; TRM's trm.py adds mlp_t, puzzle_emb_len, no_ACT_continue).
const KeySpec kArchKeys[] = {
    {"H_cycles", "arch.H_cycles", "hrm trm", true, ""},
    {"L_cycles", "arch.L_cycles", "hrm trm", true, ""},
    {"H_layers", "arch.H_layers", "hrm trm", true, ""},
    {"L_layers", "arch.L_layers", "hrm trm", true, ""},
    {"hidden_size", "arch.hidden_size", "hrm trm", true, ""},
    {"expansion", "arch.expansion", "hrm trm", true, ""},
    {"num_heads", "arch.num_heads", "hrm trm", true, ""},
    {"pos_encodings", "arch.pos_encodings", "hrm trm", true, ""},
    {"halt_max_steps", "arch.halt_max_steps", "hrm trm", true, ""},
    {"halt_exploration_prob", "arch.halt_exploration_prob", "hrm trm", true, ""},
    {"puzzle_emb_ndim", "arch.puzzle_emb_ndim", "hrm trm", false, ""},
    {"rms_norm_eps", "arch.rms_norm_eps", "hrm trm", false, ""},
    {"rope_theta", "arch.rope_theta", "hrm trm", false, ""},
    {"forward_dtype", "arch.forward_dtype", "hrm trm", false, ""},
    {"mlp_t", "arch.mlp_t", "hrm trm", false, ""},
    {"puzzle_emb_len", "arch.puzzle_emb_len", "trm", false, ""},
    {"no_ACT_continue", "", "trm", false, "drops the Q-continue target's extra forward: compute only"},
};

bool has_word(const char* list, const std::string& w) {
  std::istringstream ss(list);
  std::string t;
  while (ss >> t) if (t == w) return true;
  return false;
}

const KeySpec* find_spec(const KeySpec* begin, const KeySpec* end, const std::string& name) {
  for (auto* s = begin; s != end; ++s) if (name == s->name) return s;
  return nullptr;
}

std::string suggest_key(const std::string& name, const KeySpec* begin, const KeySpec* end, const std::string& prefix) {
  std::string best;
  std::size_t best_d = 4;
  for (auto* s = begin; s != end; ++s) {
    const auto d = edit_distance(name, s->name, best_d);
    if (d < best_d) { best_d = d; best = prefix + s->name; }
  }
  if (prefix.empty() && name == "loss_type") best = "arch.loss.loss_type";
  return best.empty() ? "HRM's keys are those of pretrain.py's PretrainConfig and the arch/*.yaml model config"
                      : "did you mean '" + best + "'?";
}

ConfigField* field_of(std::vector<ConfigField>& fields, const std::string& key) {
  for (auto& f : fields) if (f.key == key) return &f;
  return nullptr;
}

bool parse_int(const std::string& s, std::int64_t& out) {
  const char* b = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
  auto [p, ec] = std::from_chars(b, s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && b != s.data() + s.size();
}

bool parse_double(const std::string& s, double& out) {
  const char* b = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
  auto [p, ec] = std::from_chars(b, s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && b != s.data() + s.size() && std::isfinite(out);
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Scalars convert as pydantic reads them from YAML: integers where integers are expected, numbers
// (1e-4, 0.1, 4) for floats, true/false (any case) for booleans, the text for strings.
void assign(Config& c, const std::string& key, const std::string& shown, const YNode& v) {
  auto fields = config_fields(c);
  ConfigField* f = field_of(fields, key);
  HRM_CHECK(f, "no hrmkit field {}", key);
  const std::string got = v.kind == Kind::Scalar ? "'" + v.scalar + "'" : v.kind == Kind::Null ? "null" : render(v);
  auto fail = [&](const char* kind) {
    throw InputError(v.pos.str(), fmt::format("'{}' must be {}, got {}", shown, kind, got),
                     "write the value as HRM's config does, e.g. lr: 1e-4, arch.L_cycles: 8, checkpoint_every_eval: True");
  };
  std::visit([&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    if (v.kind != Kind::Scalar) {
      fail(std::is_same_v<T, std::int64_t> ? "an integer" : std::is_same_v<T, double> ? "a number"
           : std::is_same_v<T, bool> ? "a boolean" : "a string");
    }
    if constexpr (std::is_same_v<T, std::int64_t>) {
      if (!parse_int(v.scalar, *p)) fail("an integer");
    } else if constexpr (std::is_same_v<T, double>) {
      if (!parse_double(v.scalar, *p)) fail("a number");
    } else if constexpr (std::is_same_v<T, bool>) {
      const std::string s = lower(v.scalar);
      if (s == "true") *p = true;
      else if (s == "false") *p = false;
      else fail("a boolean (true or false)");
    } else {
      *p = v.scalar;
    }
  }, f->ref);
  c.positions[key] = v.pos;
}

std::string family_of(const YNode& name) {
  if (name.kind != Kind::Scalar)
    throw InputError(name.pos.str(), "'arch.name' must be a string like hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1");
  const std::string& n = name.scalar;
  const auto at = n.find('@');
  const std::string cls = at == std::string::npos ? "" : n.substr(at + 1);
  if (cls == "HierarchicalReasoningModel_ACTV1") return "hrm";
  if (cls == "TinyRecursiveReasoningModel_ACTV1") return "trm";
  throw InputError(name.pos.str(), fmt::format("model '{}' is neither HRM nor TRM", n),
                   "hrmkit models HierarchicalReasoningModel_ACTV1 (HRM) and TinyRecursiveReasoningModel_ACTV1 (TRM); "
                   "TRM's trm_hier6, trm_singlez and transformers_baseline variants are not modelled");
}

void map_arch(HrmYamlConfig& out, const YNode& arch, const std::string& source) {
  Config& c = out.config;
  if (arch.kind != Kind::Map)
    throw InputError(arch.pos.str(), "'arch' must be a mapping of model settings", "e.g. arch: {name: ..., hidden_size: 512}");
  const YNode* name = arch.get("name");
  if (!name) throw InputError(arch.pos.file.empty() ? source : arch.pos.str(), "'arch.name' is missing",
                              "HRM's arch/hrm_v1.yaml has name: hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1");
  const std::string family = family_of(*name);
  out.arch_name = name->scalar;
  c.arch.family = family;
  c.positions["arch.family"] = name->pos;
  std::set<std::string> seen;
  for (const auto& [k, v] : arch.fields) {
    const std::string shown = "arch." + k;
    if (k == "name") continue;
    if (k == "loss") {
      if (v.kind != Kind::Map) throw InputError(v.pos.str(), "'arch.loss' must be a mapping with name and loss_type");
      for (const auto& [lk, lv] : v.fields) {
        if (lk == "name") {
          if (lv.kind != Kind::Scalar || lv.scalar != "losses@ACTLossHead")
            throw InputError(lv.pos.str(), fmt::format("loss head '{}' is not modelled", render(lv)), "HRM and TRM use losses@ACTLossHead");
        } else if (lk == "loss_type") {
          assign(c, "arch.loss_type", "arch.loss.loss_type", lv);
        } else {
          throw InputError(lv.pos.str(), fmt::format("unknown key 'arch.loss.{}'", lk), "ACTLossHead takes name and loss_type");
        }
      }
      seen.insert("loss");
      continue;
    }
    const KeySpec* s = find_spec(std::begin(kArchKeys), std::end(kArchKeys), k);
    if (!s)
      throw InputError(v.pos.str(), fmt::format("unknown key '{}'", shown), suggest_key(k, std::begin(kArchKeys), std::end(kArchKeys), "arch."));
    if (!has_word(s->where, family))
      throw InputError(v.pos.str(), fmt::format("'{}' is a TRM setting; {} has no such field", shown, out.arch_name),
                       "remove it, or use TRM's model (arch.name: recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1)");
    seen.insert(k);
    if (!*s->key) {
      out.ignored.push_back(fmt::format("{} = {}  ({}; {})", shown, render(v), v.pos.str(), s->note));
      continue;
    }
    // `${.hidden_size}` stays a reference (-1), so a later hidden_size still carries it, as in hrm_v1.yaml.
    if (k == "puzzle_emb_ndim" && v.ref == "arch.hidden_size") {
      c.arch.puzzle_emb_ndim = -1;
      c.positions["arch.puzzle_emb_ndim"] = v.pos;
      continue;
    }
    assign(c, s->key, shown, v);
  }
  if (!seen.count("loss"))
    throw InputError(arch.pos.file.empty() ? source : arch.pos.str(), "'arch.loss' is missing",
                     "HRM's arch files have loss: {name: losses@ACTLossHead, loss_type: stablemax_cross_entropy}");
  for (const auto& s : kArchKeys)
    if (s.required && has_word(s.where, family) && !seen.count(s.name))
      throw InputError(source, fmt::format("'arch.{}' is missing: the model config class requires it", s.name),
                       "compose an arch file (defaults: - arch: hrm_v1) or write it under arch:");
}

HrmYamlConfig map_tree(const YNode& root, const std::string& source, const std::string& format) {
  HrmYamlConfig out;
  Config& c = out.config;
  c.source_file = source;
  c.source_format = format;
  const bool has_paths = root.get("data_paths") != nullptr, has_path = root.get("data_path") != nullptr;
  if (has_paths && has_path)
    throw InputError(root.get("data_paths")->pos.str(), "both data_path (HRM) and data_paths (TRM) are set", "keep the one your pretrain.py reads");
  out.layout = has_paths ? "TRM" : "HRM";
  for (const auto& [k, v] : root.fields)
    if (k != "arch" && !find_spec(std::begin(kTopKeys), std::end(kTopKeys), k))
      throw InputError(v.pos.str(), fmt::format("unknown key '{}'", k), suggest_key(k, std::begin(kTopKeys), std::end(kTopKeys), ""));
  for (const auto& [k, v] : root.fields) {
    if (k == "arch") continue;
    const KeySpec* s = find_spec(std::begin(kTopKeys), std::end(kTopKeys), k);
    if (!has_word(s->where, out.layout))
      throw InputError(v.pos.str(), fmt::format("'{}' is a TinyRecursiveModels setting; HRM's pretrain.py has no such field", k),
                       "TRM configs name their data with data_paths: [PATH]");
    if (!*s->key) {
      out.ignored.push_back(fmt::format("{} = {}  ({}; {})", k, render(v), v.pos.str(), s->note));
      continue;
    }
    if (k == "data_paths") {
      if (v.kind != Kind::Seq || v.items.empty() || v.items[0].kind != Kind::Scalar)
        throw InputError(v.pos.str(), "'data_paths' must be a list of dataset folders", "e.g. data_paths=[data/sudoku-extreme-1k-aug-1000]");
      if (v.items.size() > 1)
        throw InputError(v.pos.str(), fmt::format("hrmkit analyzes one dataset; data_paths lists {}", v.items.size()),
                       "analyze each dataset with data_paths=[PATH]");
      assign(c, "data.path", k, v.items[0]);
      continue;
    }
    if (k == "eval_interval" && v.kind == Kind::Null) {  // pretrain.py: None = one iteration of all epochs
      c.train.eval_interval = 0;
      c.positions["train.eval_interval"] = v.pos;
      continue;
    }
    assign(c, s->key, k, v);
  }
  for (const auto& s : kTopKeys)
    if (s.required && has_word(s.where, out.layout) && !root.get(s.name))
      throw InputError(source, fmt::format("'{}' is missing: {}'s PretrainConfig requires it", s.name, out.layout),
                       "a primary config sets it (cfg_pretrain.yaml), or give it as an override");
  const YNode* arch = root.get("arch");
  if (!arch) throw InputError(source, "'arch' is missing", "compose it with defaults: [ {arch: hrm_v1}, _self_ ]");
  map_arch(out, *arch, source);
  return out;
}

}  // namespace

bool is_hrmkit_override(const std::string& token) {
  for (const char* p : {"data.", "train.", "hardware.", "task."})
    if (token.rfind(p, 0) == 0) return true;
  return false;
}

HrmYamlConfig read_hrm_yaml_config(const HydraSource& primary, const std::vector<std::string>& overrides) {
  const bool from_command = primary.path.rfind("embedded:", 0) == 0;
  std::vector<Override> hydra;
  std::vector<std::string> mine;
  for (const auto& t : overrides) {
    if (is_hrmkit_override(t)) mine.push_back(t);
    else hydra.push_back(parse_override(t));
  }
  const std::string text = primary.text.empty() ? read_text(primary.path, nullptr) : primary.text;
  std::vector<Override> values = hydra;
  YNode root = compose(primary.path, text, values);
  for (const auto& o : values) {
    if (o.key == "hydra" || o.key.rfind("hydra.", 0) == 0) continue;  // Hydra's own settings
    apply_tree_override(root, o);
  }
  Resolver{root, {}}.resolve(root, "");
  HrmYamlConfig out = map_tree(root, primary.path, from_command ? "command-line" : "hrm-yaml");
  for (const auto& o : hydra) out.config.overrides.push_back(o.token);
  for (const auto& t : mine) apply_override(out.config, t);
  if (out.config.data.path.empty())
    throw InputError(primary.path, "the data path is empty", "give data_path=PATH (TRM: data_paths=[PATH])");
  validate_config(out.config);
  return out;
}

HrmYamlConfig load_hrm_yaml_config(const std::string& path, const std::vector<std::string>& overrides) {
  return read_hrm_yaml_config(HydraSource{path, ""}, overrides);
}

namespace {

// Text for a TOML comment: a YAML value or an override may hold a newline (which would end the
// comment and inject TOML), control characters or invalid UTF-8, all of which TOML forbids in
// comments; those bytes are written as \xNN (found by fuzz_hrm_yaml).
std::string comment_text(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (c >= 0x80 && len != 0 && i + len <= s.size() && is_valid_utf8(s.substr(i, len))) {
      out += s.substr(i, len);
      i += len;
      continue;
    }
    if (c >= 0x80 || (c < 0x20 && c != '\t') || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
    ++i;
  }
  return out;
}

}  // namespace

std::string hrm_yaml_to_toml(const HrmYamlConfig& r) {
  const Config& c = r.config;
  std::string out = fmt::format("# Converted by `hrm config convert` from {} ({}'s hydra config, model {}).\n",
                                comment_text(c.source_file), comment_text(r.layout), comment_text(r.arch_name));
  if (!c.overrides.empty()) {
    out += "# overrides:";
    for (const auto& o : c.overrides) out += " " + comment_text(o);
    out += "\n";
  }
  if (!r.ignored.empty()) {
    out += "# read but not part of hrmkit's analysis:\n";
    for (const auto& i : r.ignored) out += "#   " + comment_text(i) + "\n";
  }
  if (!c.positions.count("hardware.num_gpus") && c.source_format == "hrm-yaml")
    out += "# HRM's YAML does not record the GPU count: set [hardware] num_gpus to the torchrun world size.\n";
  return out + config_to_toml(c);
}

}  // namespace hrm
