// analyze.cpp: census -> replay -> regime and schedule views -> memory -> rules -> verdict.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "analyzer/rules.hpp"
#include "common/error.hpp"
#include "common/schedule.hpp"

namespace hrm {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Info: return "info";
  }
  return "?";
}

int Report::count(Severity s) const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.severity == s; }));
}

std::string size_class(double e) { return e <= 1000 ? "small" : e <= 10000 ? "medium" : "large"; }
std::int64_t min_warmup_updates(double e) { return e <= 1000 ? 5 : e <= 10000 ? 15 : 20; }

Finding make_finding(std::string id, Severity sev, std::string key, double value, double limit, std::string message,
                     std::string why, std::string fix) {
  Finding f;
  f.id = std::move(id);
  f.severity = sev;
  f.key = std::move(key);
  f.value = value;
  f.limit = limit;
  f.message = std::move(message);
  f.why = std::move(why);
  f.fix = std::move(fix);
  return f;
}

namespace {

// ARC-like data (12 tokens on a 30x30 canvas, or many puzzle identifiers) is pattern recognition:
// a short horizon. Sudoku and Maze are search: a long horizon.
std::string resolve_horizon(const Config& c, const Census& census) {
  if (c.task.horizon != "auto") return c.task.horizon;
  return (census.vocab_size == 12 && census.seq_len == 900) || census.num_puzzle_identifiers > 1 ? "short" : "long";
}

RegimeView regime_view(const Config& c, const Census& census, const ReplayResult& rp) {
  RegimeView r;
  const double B = static_cast<double>(c.train.global_batch_size), G = static_cast<double>(std::max<std::int64_t>(1, census.groups));
  r.batch_to_groups = B / G;
  r.name = r.batch_to_groups <= 1.0 ? "traditional" : "survey";
  r.groups_per_batch = rp.yielded_batches ? rp.mean_groups_per_batch : B / std::max(1.0, census.mean_puzzle_examples);
  r.group_fraction_per_update = (rp.yielded_batches ? rp.mean_distinct_groups_per_batch : std::min(r.groups_per_batch, G)) / G;
  r.repeated_groups_per_batch = rp.mean_repeated_groups_per_batch;
  r.updates_to_cover_groups = rp.steps_to_cover_all_groups;
  return r;
}

ScheduleView schedule_view(const Config& c, const Census& census, const ReplayResult& rp, std::int64_t total_steps) {
  const auto& t = c.train;
  ScheduleView s;
  const double B = static_cast<double>(t.global_batch_size);
  s.total_steps = total_steps;
  s.executed_steps = rp.executed_steps;
  s.iterations = rp.iterations;
  s.empty_iterations = rp.empty_iterations;
  s.dropped_rows = rp.dropped_rows;
  s.truncated_puzzles = rp.truncated_puzzles;
  s.updates_per_epoch = static_cast<double>(s.executed_steps) / static_cast<double>(t.epochs);
  s.warmup_steps = t.lr_warmup_steps;
  s.warmup_examples = static_cast<double>(s.warmup_steps) * B;
  s.warmup_epochs = census.examples_per_epoch > 0 ? s.warmup_examples / census.examples_per_epoch : 0.0;
  s.fresh_examples_per_step = B / static_cast<double>(std::max<std::int64_t>(1, c.arch.halt_max_steps));
  s.warmup_fresh_examples = static_cast<double>(s.warmup_steps) * s.fresh_examples_per_step;
  s.warmup_updates_if_examples = static_cast<double>(s.warmup_steps) / B;
  s.effective_epochs = census.examples_per_epoch > 0
                           ? static_cast<double>(s.executed_steps) * s.fresh_examples_per_step / census.examples_per_epoch : 0.0;
  if (s.executed_steps > 0) {
    s.final_lr = hrm_lr(t.lr, s.executed_steps, s.warmup_steps, total_steps, t.lr_min_ratio);
    const auto peak_step = std::min(s.executed_steps, std::max<std::int64_t>(1, s.warmup_steps));
    const double peak = std::max(hrm_lr(t.lr, peak_step, s.warmup_steps, total_steps, t.lr_min_ratio), s.final_lr);
    s.peak_lr_fraction = t.lr > 0 ? peak / t.lr : 0.0;
  }
  return s;
}

}  // namespace

MemoryEstimate cuda_memory_in(const Report& r, bool bf16_storage) {
  const Config& c = r.config;
  const ModelShape shape = model_shape(c.arch, c.puzzle_emb_ndim(), r.census.seq_len, r.census.vocab_size);
  return estimate_cuda_memory(shape, c.arch.pos_encodings == "learned", r.census.num_puzzle_identifiers,
                              c.puzzle_emb_ndim(), r.per_gpu_batch, c.hardware.num_gpus, bf16_storage);
}

Report analyze(const Config& config, const AnalyzeOptions& opts) {
  Report rep;
  rep.config = config;
  rep.strict = opts.strict;
  const DatasetSplit train = DatasetSplit::open(config.data.path, "train");
  rep.census = take_census(train);
  rep.horizon = resolve_horizon(config, rep.census);
  rep.model_family = config.arch.family;

  const auto& t = config.train;
  const auto W = config.hardware.num_gpus;
  const std::int64_t total_steps = hrm_total_steps(t.epochs, train.meta().total_groups, train.meta().mean_puzzle_examples,
                                                   t.global_batch_size);
  ReplaySpec spec;
  spec.global_batch_size = t.global_batch_size;
  spec.world_size = W;
  spec.epochs = t.epochs;
  spec.epochs_per_iter = config.epochs_per_iter();
  spec.seed = t.seed;
  spec.total_steps = total_steps;
  spec.threads = opts.replay_threads;
  rep.replay = replay_schedule(train, spec);
  rep.regime = regime_view(config, rep.census, rep.replay);
  rep.schedule = schedule_view(config, rep.census, rep.replay, total_steps);

  rep.per_gpu_batch = t.global_batch_size / W;
  const ModelShape shape = model_shape(config.arch, config.puzzle_emb_ndim(), rep.census.seq_len, rep.census.vocab_size);
  const bool learned = config.arch.pos_encodings == "learned";
  rep.memory = estimate_memory(shape, learned, rep.census.num_puzzle_identifiers, config.puzzle_emb_ndim(), rep.per_gpu_batch, W);
  if (rep.model_family == "hrm") {
    rep.cpu_memory = estimate_cpu_memory(shape, learned, rep.census.num_puzzle_identifiers, config.puzzle_emb_ndim(),
                                         rep.per_gpu_batch, W);
    rep.cuda_storage = config.arch.forward_dtype == "bfloat16" ? "bf16" : "fp32";
    rep.cuda_memory = cuda_memory_in(rep, rep.cuda_storage == "bf16");
  }
  const double gpu_bytes = config.hardware.gpu_memory_gb * 1024.0 * 1024.0 * 1024.0;
  rep.hardware_batch_limit =
      max_local_batch(shape, learned, rep.census.num_puzzle_identifiers, config.puzzle_emb_ndim(), W, gpu_bytes) * W;
  rep.comm = comm_model(config, shape, rep.memory.num_params);

  const RuleContext ctx{config,      rep.census,       rep.schedule,         rep.regime,
                        rep.replay,  rep.memory,       rep.cuda_memory,      rep.cuda_storage,
                        rep.per_gpu_batch, rep.horizon, rep.hardware_batch_limit};
  check_batch_rules(ctx, rep.findings);
  check_schedule_rules(ctx, rep.findings);
  check_warmup_rules(ctx, rep.findings);
  check_regime_rules(ctx, rep.findings);
  check_memory_rules(ctx, rep.findings);
  check_lr_rules(ctx, rep.findings);
  rep.recommendation = recommend(ctx);
  settle_verdict(rep);
  return rep;
}

void settle_verdict(Report& rep) {
  std::stable_sort(rep.findings.begin(), rep.findings.end(),
                   [](const Finding& a, const Finding& b) { return static_cast<int>(a.severity) < static_cast<int>(b.severity); });
  const bool rejected = rep.count(Severity::Error) > 0 || (rep.strict && rep.count(Severity::Warning) > 0);
  rep.verdict = rejected ? "rejected" : "vetted";
}

}  // namespace hrm
