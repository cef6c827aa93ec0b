// sweep.cpp: parse --sweep arguments through the config validator, analyze every combination on a
// small thread pool (each analysis is independent: its own config, replay and report), summarize.
#include "analyzer/sweep.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "analyzer/rules.hpp"
#include "common/error.hpp"

namespace hrm {

namespace {

// Applies `key_eq_value` to a copy of `base` and validates it; the validator's error (its wording
// and its did-you-mean hint) is rethrown at `where`, the position inside the --sweep argument.
void validate_at(const Config& base, const std::string& key_eq_value, const std::string& where) {
  Config probe = base;
  try {
    apply_override(probe, key_eq_value);
    validate_config(probe);
  } catch (const InputError& e) {
    std::string what = e.what();
    if (what.rfind(e.where() + ": ", 0) == 0) what.erase(0, e.where().size() + 2);
    throw InputError(where, what, e.hint());
  }
}

SweepRow analyze_combination(const Config& base, const std::vector<SweepAxis>& axes, std::size_t index,
                             const AnalyzeOptions& opts) {
  Config c = base;
  SweepRow row;
  row.values.resize(axes.size());
  for (std::size_t a = axes.size(); a-- > 0;) {  // the last axis varies fastest
    const std::size_t k = index % axes[a].values.size();
    index /= axes[a].values.size();
    apply_override(c, axes[a].key + "=" + axes[a].values[k]);
    row.values[a] = axes[a].numbers[k];
  }
  validate_config(c);
  const Report r = analyze(c, opts);
  row.verdict = r.verdict;
  row.regime = r.regime.name;
  row.global_batch_size = c.train.global_batch_size;
  row.num_gpus = c.hardware.num_gpus;
  row.per_gpu_batch = r.per_gpu_batch;
  row.groups = r.census.groups;
  row.executed_steps = r.schedule.executed_steps;
  row.updates_per_epoch = r.schedule.updates_per_epoch;
  row.warmup_epochs = r.schedule.warmup_epochs;
  row.memory_per_gpu_bytes = r.memory.per_gpu_bytes;
  row.gpu_bytes = c.hardware.gpu_memory_gb * 1024.0 * 1024.0 * 1024.0;
  row.lr = c.train.lr;
  row.recommended_lr = sqrt_rule_lr(c.train.global_batch_size);
  row.lr_warmup_steps = c.train.lr_warmup_steps;
  row.errors = r.count(Severity::Error);
  row.warnings = r.count(Severity::Warning);
  row.notes = r.count(Severity::Info);
  for (const auto& f : r.findings)
    if (f.severity != Severity::Info) row.problems.push_back(f.id);
  return row;
}

// Distance from the recommendation in octaves of batch, GPUs, LR and warmup: keys a sweep does not
// vary add the same amount to every row, so only the swept ones decide.
double distance(const SweepRow& row, const Recommendation& t) {
  auto octaves = [](double a, double b) { return a > 0 && b > 0 ? std::abs(std::log2(a / b)) : 0.0; };
  return octaves(double(row.global_batch_size), double(t.global_batch_size)) + octaves(double(row.num_gpus), double(t.num_gpus)) +
         octaves(row.lr, t.lr) + octaves(double(row.lr_warmup_steps + 1), double(t.lr_warmup_steps + 1));
}

}  // namespace

SweepAxis parse_sweep_axis(const Config& base, const std::string& arg) {
  auto where = [&](std::size_t column) { return fmt::format("--sweep '{}', column {}", arg, column); };
  const std::string usage = "expected KEY=V1,V2,... with numbers, e.g. --sweep train.global_batch_size=96,192,384";
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) throw InputError(where(1), "expected KEY=V1,V2,...", usage);
  SweepAxis axis;
  axis.key = arg.substr(0, eq);
  Config probe = base;
  const auto fields = config_fields(probe);
  const auto f = std::find_if(fields.begin(), fields.end(), [&](const ConfigField& x) { return x.key == axis.key; });
  if (f == fields.end()) validate_at(base, axis.key + "=0", where(1));  // throws "unknown key" with a did-you-mean hint
  const bool integer = f != fields.end() && std::holds_alternative<std::int64_t*>(f->ref);
  if (f == fields.end() || !(integer || std::holds_alternative<double*>(f->ref)))
    throw InputError(where(1), fmt::format("'{}' is not a numeric key; a sweep varies numbers", axis.key), usage);
  axis.integer = integer;

  std::size_t begin = eq + 1;
  while (true) {
    const std::size_t end = std::min(arg.find(',', begin), arg.size());
    const std::string value = arg.substr(begin, end - begin);
    const std::string at = where(begin + 1);
    double v = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (value.empty()) throw InputError(at, "empty value", usage);
    if (ec != std::errc() || ptr != value.data() + value.size() || !std::isfinite(v))
      throw InputError(at, fmt::format("'{}' is not a number", value), usage);
    validate_at(base, axis.key + "=" + value, at);
    axis.values.push_back(value);
    axis.numbers.push_back(v);
    if (end == arg.size()) break;
    begin = end + 1;
  }
  return axis;
}

SweepResult run_sweep(const Config& base, const Report& base_report, const std::vector<SweepAxis>& axes,
                      const AnalyzeOptions& opts, unsigned threads) {
  std::size_t combos = 1;
  for (std::size_t a = 0; a < axes.size(); ++a) {
    for (std::size_t b = 0; b < a; ++b)
      if (axes[a].key == axes[b].key) throw InputError("--sweep", fmt::format("'{}' is swept twice", axes[a].key), "give each key one --sweep");
    combos *= axes[a].values.size();
    if (combos > kMaxSweepCombinations)
      throw InputError("--sweep", fmt::format("more than {} combinations", kMaxSweepCombinations), "sweep fewer values or keys");
  }
  const auto t0 = std::chrono::steady_clock::now();
  SweepResult res;
  res.config_file = base.source_file;
  res.overrides = base.overrides;
  res.axes = axes;
  res.target = base_report.recommendation;
  res.rows.resize(combos);

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const auto n = static_cast<unsigned>(std::min<std::size_t>(combos, threads ? threads : cores));
  AnalyzeOptions one = opts;
  if (n > 1) one.replay_threads = 1;  // parallel over combinations, not inside each: no n x cores threads
  std::vector<std::exception_ptr> errors(combos);
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next++) < combos;) {
      try {
        res.rows[i] = analyze_combination(base, axes, i, one);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < n; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);

  // Fewest warnings first (a clean combination beats a slightly closer one), then closest.
  auto rank = [&](const SweepRow& row) { return std::tuple(row.warnings, distance(row, res.target)); };
  for (std::size_t i = 0; i < combos; ++i) {
    if (res.rows[i].verdict != "vetted") continue;
    if (res.recommended < 0 || rank(res.rows[i]) < rank(res.rows[res.recommended])) res.recommended = static_cast<int>(i);
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace hrm
