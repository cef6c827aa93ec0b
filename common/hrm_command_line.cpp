// hrm_command_line.cpp: env prefixes -> launcher (torchrun / python / python -m
// torch.distributed.run) and its flags -> the script -> Hydra overrides on the embedded defaults.
#include "common/hrm_command_line.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "common/error.hpp"

namespace hrm {
namespace {

// Splits one string as a POSIX shell would for a pasted command: whitespace separates words,
// '...' and "..." quote, a backslash escapes the next character (backslash-newline joins lines).
std::vector<std::string> shell_split(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (quote) {
      if (ch == quote) quote = 0;
      else if (ch == '\\' && quote == '"' && i + 1 < s.size()) cur += s[++i];
      else cur += ch;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      in_word = true;
    } else if (ch == '\\' && i + 1 < s.size()) {
      if (s[i + 1] != '\n') { cur += s[i + 1]; in_word = true; }
      ++i;
    } else if (std::isspace(static_cast<unsigned char>(ch))) {
      if (in_word) out.push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur += ch;
      in_word = true;
    }
  }
  if (quote) throw InputError("command line", "unterminated quote", "close the quote, or paste the command as separate words after --");
  if (in_word) out.push_back(cur);
  return out;
}

bool is_env_assignment(const std::string& w) {
  const auto eq = w.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  if (!(std::isalpha(static_cast<unsigned char>(w[0])) || w[0] == '_')) return false;
  return std::all_of(w.begin(), w.begin() + static_cast<long>(eq),
                     [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
}

std::string basename_of(const std::string& p) {
  const auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

bool is_python(const std::string& w) {
  const std::string b = basename_of(w);
  return b == "python" || b.rfind("python3", 0) == 0;
}

std::int64_t count_of(const std::string& flag, const std::string& value) {
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec == std::errc() && p == value.data() + value.size() && n > 0) return n;
  const auto colon = value.find(':');
  if (flag == "--nnodes" && colon != std::string::npos && value.substr(0, colon) == value.substr(colon + 1))
    return count_of(flag, value.substr(0, colon));
  throw InputError(fmt::format("command line '{} {}'", flag, value), fmt::format("cannot tell the GPU count from '{}'", value),
                   flag == "--nnodes" ? "give a fixed node count (an elastic MIN:MAX range has no single world size)"
                                      : "give the number of processes per node, e.g. --nproc-per-node 8");
}

// torchrun's flags (torch.distributed.run), '_' and '-' spelled alike. Those not listed are errors.
const std::set<std::string> kValued = {"--nnodes", "--nproc-per-node", "--node-rank", "--rdzv-backend", "--rdzv-endpoint",
                                       "--rdzv-id", "--rdzv-conf", "--master-addr", "--master-port", "--max-restarts",
                                       "--monitor-interval", "--start-method", "--role", "--log-dir", "--redirects", "--tee",
                                       "--local-addr", "--local-ranks-filter", "--logs-specs", "--event-log-handler", "-r", "-t"};
const std::set<std::string> kSwitches = {"--standalone", "--no-python", "--run-path", "--module", "-m", "--use-env"};

std::string normalized(const std::string& flag) {
  std::string f = flag;
  for (std::size_t i = 2; i < f.size(); ++i) if (f[i] == '_') f[i] = '-';
  return f;
}

}  // namespace

LaunchCommand parse_launch_command(const std::vector<std::string>& argv_in) {
  std::vector<std::string> argv = argv_in;
  if (argv.size() == 1 && argv[0].find_first_of(" \t\n") != std::string::npos) argv = shell_split(argv[0]);
  LaunchCommand cmd;
  std::size_t i = 0;
  if (i < argv.size() && argv[i] == "env") ++i;
  while (i < argv.size() && is_env_assignment(argv[i])) ++i;   // OMP_NUM_THREADS=8, CUDA_VISIBLE_DEVICES=...
  if (i >= argv.size())
    throw InputError("command line", "no command after --", "paste the training command: hrm analyze -- torchrun --nproc-per-node 8 pretrain.py ...");
  const std::string prog = argv[i++];
  bool launcher = false;
  if (basename_of(prog) == "torchrun") {
    launcher = true;
    cmd.launcher = "torchrun";
  } else if (is_python(prog)) {
    cmd.launcher = "python";
    // python's own flags, then either `-m torch.distributed.run|launch` or the script
    while (i < argv.size() && argv[i].size() > 1 && argv[i][0] == '-') {
      const std::string f = argv[i];
      if (f == "-m") {
        if (i + 1 < argv.size() && (argv[i + 1] == "torch.distributed.run" || argv[i + 1] == "torch.distributed.launch")) {
          cmd.launcher = "python -m " + argv[i + 1];
          launcher = true;
          i += 2;
          break;
        }
        throw InputError(fmt::format("command line '-m {}'", i + 1 < argv.size() ? argv[i + 1] : ""),
                         "expected -m torch.distributed.run or a pretrain.py script", "run HRM's pretrain.py");
      }
      if (f == "-X" || f == "-W") { i += 2; continue; }
      if (f == "-u" || f == "-O" || f == "-OO" || f == "-B" || f == "-E" || f == "-s" || f == "-S") { ++i; continue; }
      throw InputError(fmt::format("command line '{}'", f), "unknown python flag", "paste the command as you run it");
    }
  } else {
    throw InputError(fmt::format("command line '{}'", prog), "expected torchrun or python (with pretrain.py)",
                     "paste HRM's or TRM's training command, e.g. torchrun --nproc-per-node 8 pretrain.py ...");
  }
  std::int64_t nproc = 1, nnodes = 1;
  if (launcher) {
    while (i < argv.size() && argv[i].size() > 1 && argv[i][0] == '-') {
      std::string f = argv[i++], value;
      const auto eq = f.find('=');
      if (eq != std::string::npos) { value = f.substr(eq + 1); f = f.substr(0, eq); }
      f = normalized(f);
      if (kSwitches.count(f)) {
        if (f == "--module" || f == "-m" || f == "--no-python")
          throw InputError(fmt::format("command line '{}'", f), "runs something other than a pretrain.py script", "analyze the pretrain.py command");
        continue;
      }
      if (!kValued.count(f))
        throw InputError(fmt::format("command line '{}'", argv[i - 1]), "unknown torchrun flag",
                         "torchrun flags go before pretrain.py; hrmkit reads --nproc-per-node and --nnodes");
      if (eq == std::string::npos) {
        if (i >= argv.size()) throw InputError(fmt::format("command line '{}'", f), "expects a value");
        value = argv[i++];
      }
      if (f == "--nproc-per-node") nproc = count_of(f, value);
      if (f == "--nnodes") nnodes = count_of(f, value);
      if (f == "--nproc-per-node" || f == "--nnodes") cmd.gpu_flags += (cmd.gpu_flags.empty() ? "" : " ") + f + " " + value;
    }
  }
  if (i >= argv.size()) throw InputError("command line", "no script", "HRM and TRM train with pretrain.py");
  cmd.script = argv[i++];
  if (basename_of(cmd.script) != "pretrain.py")
    throw InputError(fmt::format("command line '{}'", cmd.script),
                     basename_of(cmd.script) == "evaluate.py" ? "evaluates a checkpoint; it does not train"
                                                              : "is not HRM's or TRM's pretrain.py",
                     basename_of(cmd.script) == "evaluate.py" ? "analyze the checkpoint's all_config.yaml: hrm analyze --hrm-config DIR/all_config.yaml"
                                                              : "paste the pretrain.py command");
  for (; i < argv.size(); ++i) {
    if (!argv[i].empty() && argv[i][0] == '-')
      throw InputError(fmt::format("command line '{}'", argv[i]), "Hydra flags are not supported",
                       "hrmkit reads cfg_pretrain.yaml with KEY=VALUE overrides; for another primary config use --hrm-config FILE");
    cmd.overrides.push_back(argv[i]);
  }
  cmd.gpus = nproc * nnodes;
  return cmd;
}

HrmYamlConfig hrm_command_line_config(const std::vector<std::string>& argv, const std::vector<std::string>& extra) {
  const LaunchCommand cmd = parse_launch_command(argv);
  // TRM's PretrainConfig alone has these fields; `arch=trm` (or TRM's other arch files) selects TRM.
  static const std::set<std::string> trm_only = {"data_paths", "data_paths_test", "evaluators", "load_checkpoint",
                                                 "min_eval_interval", "ema", "ema_rate", "freeze_weights"};
  static const std::set<std::string> trm_archs = {"trm", "hrm", "trm_hier6", "trm_singlez", "transformers_baseline"};
  std::string layout = "HRM";
  for (const auto& o : cmd.overrides) {
    std::string k = o.substr(0, o.find('='));
    k.erase(0, k.find_first_not_of("+~"));
    const std::string v = o.find('=') == std::string::npos ? "" : o.substr(o.find('=') + 1);
    if (trm_only.count(k) || (k == "arch" && trm_archs.count(v))) layout = "TRM";
  }
  std::vector<std::string> overrides = cmd.overrides;
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  for (const auto& o : cmd.overrides)
    if (is_hrmkit_override(o))
      throw InputError(fmt::format("override '{}'", o), "is an hrmkit key, not one of pretrain.py's",
                       "put hrmkit keys before --: hrm analyze hardware.gpu_memory_gb=40 -- torchrun ...");
  HrmYamlConfig r = read_hrm_yaml_config(HydraSource{hrm_embedded_primary(layout), ""}, overrides);
  Config& c = r.config;
  c.source_file = cmd.launcher + (cmd.gpu_flags.empty() ? "" : " " + cmd.gpu_flags) + " " + cmd.script;
  if (!c.positions.count("hardware.num_gpus")) {  // an hrmkit hardware.num_gpus=N before -- wins
    c.hardware.num_gpus = cmd.gpus;
    c.positions["hardware.num_gpus"] =
        SourcePos{cmd.gpu_flags.empty() ? fmt::format("command line '{}' (one process)", cmd.launcher)
                                        : fmt::format("command line '{}'", cmd.gpu_flags), 0, 0};
  }
  validate_config(c);
  return r;
}

}  // namespace hrm
