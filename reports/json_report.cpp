// json_report.cpp: the Report as one JSON object (format_version 1). NaN values become null.
#include <cmath>

#include "reports/render.hpp"

namespace hrm {

nlohmann::json json_number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

namespace {

nlohmann::json scaling_json(const ScalingPoint& p) {
  return {{"num_gpus", p.num_gpus},       {"per_gpu_batch", p.per_gpu_batch}, {"divisible", p.divisible},
          {"compute_s", p.compute_s},     {"allreduce_s", p.allreduce_s},     {"allgather_s", p.allgather_s},
          {"comm_s", p.comm_s},           {"step_s", p.step_s},               {"efficiency", p.efficiency},
          {"examples_per_s", p.examples_per_s}};
}

nlohmann::json comm_json(const CommModel& c) {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& p : c.scaling) points.push_back(scaling_json(p));
  return {{"interconnect", c.interconnect},
          {"interconnect_gbps", c.interconnect_gbps},
          {"gpu_tflops", c.gpu_tflops},
          {"flops_per_step", c.flops_per_step},
          {"dense_gradient_bytes", c.dense_gradient_bytes},
          {"puzzle_gather_bytes", c.puzzle_gather_bytes},
          {"bytes_per_step", c.bytes_per_step},
          {"configured", scaling_json(c.configured)},
          {"scaling", points}};
}

}  // namespace

nlohmann::json report_to_json(const Report& r) {
  using nlohmann::json;
  const auto& c = r.census;
  const auto& s = r.schedule;
  const auto& m = r.memory;
  const auto& rp = r.replay;
  json findings = json::array();
  for (const auto& f : r.findings) {
    const SourcePos pos = r.config.position_of(f.key);
    findings.push_back({{"id", f.id}, {"severity", severity_name(f.severity)}, {"message", f.message},
                        {"value", json_number(f.value)}, {"limit", json_number(f.limit)}, {"why", f.why}, {"fix", f.fix},
                        {"key", f.key}, {"location", {{"file", pos.file}, {"line", pos.line}, {"column", pos.column}}}});
  }
  json ranks = json::array();
  for (auto [b, e] : rp.rank_rows) ranks.push_back({b, e});
  const auto& rec = r.recommendation;
  json j{
      {"format_version", r.format_version},
      {"verdict", r.verdict},
      {"strict", r.strict},
      {"config", config_to_json(r.config)},
      {"config_file", r.config.source_file},
      {"config_format", r.config.source_format},
      {"model_family", r.model_family},
      {"overrides", r.config.overrides},
      {"dataset", {{"path", r.config.data.path}, {"examples", c.examples}, {"puzzles", c.puzzles}, {"groups", c.groups},
                   {"min_puzzle_examples", c.min_puzzle_examples}, {"mean_puzzle_examples", c.mean_puzzle_examples},
                   {"max_puzzle_examples", c.max_puzzle_examples}, {"min_group_puzzles", c.min_group_puzzles},
                   {"mean_group_puzzles", c.mean_group_puzzles}, {"max_group_puzzles", c.max_group_puzzles},
                   {"examples_per_epoch", c.examples_per_epoch}, {"seq_len", c.seq_len}, {"vocab_size", c.vocab_size},
                   {"num_puzzle_identifiers", c.num_puzzle_identifiers}, {"distinct_identifiers", c.distinct_identifiers},
                   {"size_class", rec.size_class}}},
      {"task", {{"horizon", r.horizon}}},
      {"regime", {{"name", r.regime.name}, {"batch_to_groups", r.regime.batch_to_groups},
                  {"groups_per_batch", r.regime.groups_per_batch},
                  {"group_fraction_per_update", r.regime.group_fraction_per_update},
                  {"repeated_groups_per_batch", r.regime.repeated_groups_per_batch},
                  {"updates_to_cover_groups", r.regime.updates_to_cover_groups}}},
      {"schedule", {{"total_steps", s.total_steps}, {"executed_steps", s.executed_steps}, {"iterations", s.iterations},
                    {"batches_per_iteration", rp.batches_per_iteration},
                    {"empty_iterations", s.empty_iterations}, {"dropped_rows", s.dropped_rows},
                    {"truncated_puzzles", s.truncated_puzzles}, {"truncated_rows", rp.truncated_rows},
                    {"updates_per_epoch", s.updates_per_epoch}, {"warmup_steps", s.warmup_steps},
                    {"warmup_examples", s.warmup_examples}, {"warmup_epochs", s.warmup_epochs},
                    {"warmup_fresh_examples", s.warmup_fresh_examples},
                    {"warmup_updates_if_examples", s.warmup_updates_if_examples},
                    {"fresh_examples_per_step", s.fresh_examples_per_step}, {"effective_epochs", s.effective_epochs},
                    {"final_lr", s.final_lr}, {"peak_lr_fraction", s.peak_lr_fraction},
                    {"rank_rows", ranks}, {"replay_seconds", rp.seconds}}},
      {"per_gpu_batch", r.per_gpu_batch},
      {"memory", {{"num_params", m.num_params}, {"per_gpu_bytes", m.per_gpu_bytes}, {"params_bytes", m.params_bytes},
                  {"optimizer_bytes", m.optimizer_bytes}, {"gradient_bytes", m.gradient_bytes},
                  {"puzzle_emb_bytes", m.puzzle_emb_bytes}, {"activation_bytes", m.activation_bytes},
                  {"workspace_bytes", m.workspace_bytes}, {"gpu_bytes", r.config.hardware.gpu_memory_gb * 1073741824.0},
                  {"hardware_batch_limit", r.hardware_batch_limit},
                  {"cpu_trainer_bytes", r.cpu_memory.per_gpu_bytes},
                  {"cpu_trainer_buffer_bytes", r.cpu_memory.activation_bytes},
                  {"cuda_trainer_bytes", r.cuda_memory.per_gpu_bytes},
                  {"cuda_trainer_storage", r.cuda_storage}}},
      {"communication", comm_json(r.comm)},
      {"findings", findings},
      {"counts", {{"error", r.count(Severity::Error)}, {"warning", r.count(Severity::Warning)}, {"info", r.count(Severity::Info)}}},
      {"recommendation", {{"global_batch_size", rec.global_batch_size}, {"num_gpus", rec.num_gpus},
                          {"per_gpu_batch", rec.per_gpu_batch}, {"lr_warmup_steps", rec.lr_warmup_steps}, {"lr", rec.lr},
                          {"rationale", rec.rationale},
                          {"published_recipe", {{"name", rec.recipe_name}, {"global_batch_size", rec.recipe_batch},
                                                {"lr", rec.recipe_lr}, {"lr_warmup_steps", rec.recipe_warmup}}}}},
  };
  if (r.probe) j["noise_probe"] = noise_probe_to_json(*r.probe);
  return j;
}

}  // namespace hrm
