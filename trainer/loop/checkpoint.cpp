// checkpoint.cpp: hrmkit checkpoints and HRM weight files in safetensors.
#include "trainer/loop/checkpoint.hpp"

#include <charconv>
#include <span>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/safetensors.hpp"
#include "trainer/loop/numeric_check.hpp"

namespace hrm {

namespace {

constexpr const char* kFormat = "hrmkit-checkpoint-1";

nlohmann::json dims_json(const HrmDims& d) {
  return {{"hidden_size", d.hidden},  {"num_heads", d.heads},         {"expansion_intermediate", d.inter},
          {"vocab_size", d.vocab},    {"seq_len", d.seq_len},         {"puzzle_emb_ndim", d.puzzle_ndim},
          {"num_puzzle_identifiers", d.num_identifiers},              {"H_layers", d.H_layers},
          {"L_layers", d.L_layers},   {"learned_positions", d.learned_pos}};
}

// A file written for another model: name the first size that differs (clearer than a tensor shape).
void check_dims(const SafetensorsFile& f, const HrmDims& expected) {
  const auto stored = f.metadata("dims");
  if (!stored) return;
  const auto have = nlohmann::json::parse(*stored, nullptr, false);
  if (have.is_discarded()) throw InputError(f.path(), "metadata 'dims' is not JSON");
  const nlohmann::json want = dims_json(expected);
  for (const auto& [k, v] : want.items())
    if (have.contains(k) && have[k] != v)
      throw InputError(f.path(), fmt::format("was written for a model with {} = {}, this one has {}", k, have[k].dump(), v.dump()),
                       "use the config (arch section and dataset) the checkpoint was trained with");
}

std::span<const float> slice(const std::vector<float>& v, const TensorSlot& t) {
  return {v.data() + t.offset, static_cast<std::size_t>(t.size)};
}
std::span<float> slice(std::vector<float>& v, const TensorSlot& t) {
  return {v.data() + t.offset, static_cast<std::size_t>(t.size)};
}

// NaN or infinity in a file that loads would only surface steps later as a diverged loss; refuse it
// at once, naming the tensor (and the step the checkpoint was written at).
void check_finite(const SafetensorsFile& f, const std::string& name, std::span<const float> v) {
  const std::int64_t i = first_nonfinite(v);
  if (i < 0) return;
  const auto step = f.metadata("step");
  throw InputError(f.path(), fmt::format("{}{}", NonFinite{name, i, v[static_cast<std::size_t>(i)]}.str(),
                                         step ? fmt::format(" (checkpoint of step {})", *step) : ""),
                   "the file is corrupt or was written by a diverged run; resume from an earlier checkpoint");
}

void check_finite(const SafetensorsFile& f, const ParamLayout& l, const std::string& prefix, const std::vector<float>& slab) {
  if (first_nonfinite(slab) < 0) return;
  for (const auto& t : l.tensors) check_finite(f, prefix + t.name, slice(slab, t));
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainerState& s, const std::string& config_toml) {
  save_checkpoint(path, s, config_toml, s.carry, 1);
}

void save_checkpoint(const std::string& path, const TrainerState& s, const std::string& config_toml,
                     const ActCarry<float>& global_carry, std::int64_t world_size) {
  const HrmWeights<float>& w = s.weights;
  const HrmDims& d = w.dims;
  SafetensorsWriter out;
  for (const auto& t : w.layout.tensors) {
    out.add(t.name, t.shape, slice(w.params, t));
    out.add("optimizer.m." + t.name, t.shape, slice(s.adam_m, t));
    out.add("optimizer.v." + t.name, t.shape, slice(s.adam_v, t));
  }
  if (d.puzzle_ndim > 0) out.add(kPuzzleEmbName, {d.num_identifiers, d.puzzle_ndim}, std::span<const float>(w.puzzle_emb));
  out.add_bf16(kHInitName, {d.hidden}, std::span<const float>(w.H_init));
  out.add_bf16(kLInitName, {d.hidden}, std::span<const float>(w.L_init));
  const ActCarry<float>& c = global_carry;
  const auto b = static_cast<std::int64_t>(c.steps.size());
  out.add("carry.z_H", {b, d.tokens, d.hidden}, std::span<const float>(c.zH));
  out.add("carry.z_L", {b, d.tokens, d.hidden}, std::span<const float>(c.zL));
  out.add("carry.steps", {b}, std::span<const std::int32_t>(c.steps));
  out.add("carry.halted", {b}, std::span<const std::uint8_t>(c.halted));
  out.add("carry.inputs", {b, d.seq_len}, std::span<const std::int32_t>(c.data.inputs));
  out.add("carry.labels", {b, d.seq_len}, std::span<const std::int32_t>(c.data.labels));
  out.add("carry.puzzle_identifiers", {b}, std::span<const std::int32_t>(c.data.puzzle_ids));
  out.set_metadata("format", kFormat);
  out.set_metadata("world_size", std::to_string(world_size));
  out.set_metadata("step", std::to_string(s.step));
  out.set_metadata("sampler_iteration", std::to_string(s.sampler.iteration));
  out.set_metadata("sampler_batches", std::to_string(s.sampler.batches));
  out.set_metadata("iteration_evaluated", s.iteration_evaluated ? "1" : "0");
  out.set_metadata("dims", dims_json(d).dump());
  out.set_metadata("config", config_toml);
  out.write(path);
}

HrmWeights<float> load_weights(const std::string& path, const HrmDims& expected) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  check_dims(f, expected);
  HrmWeights<float> w;
  w.dims = expected;
  w.layout = ParamLayout::of(expected);
  w.params.assign(w.layout.total, 0.0f);
  for (const auto& t : w.layout.tensors) f.read_into(t.name, t.shape, slice(w.params, t));
  // A weight the model does not have means the file is for another architecture.
  for (const auto& name : f.names()) {
    if (name.rfind("model.", 0) != 0 || name == kPuzzleEmbName || name == kHInitName || name == kLInitName) continue;
    bool known = false;
    for (const auto& t : w.layout.tensors) known = known || t.name == name;
    if (!known)
      throw InputError(path, fmt::format("has tensor '{}', which this model does not have", name),
                       "check arch.pos_encodings, arch.H_layers and arch.L_layers against the checkpoint's model");
  }
  if (expected.puzzle_ndim > 0) {
    w.puzzle_emb.assign(expected.num_identifiers * expected.puzzle_ndim, 0.0f);
    f.read_into(kPuzzleEmbName, {expected.num_identifiers, expected.puzzle_ndim}, std::span<float>(w.puzzle_emb));
  } else if (f.has(kPuzzleEmbName)) {
    throw InputError(path, "has a puzzle-embedding table but the config sets arch.puzzle_emb_ndim = 0");
  }
  w.H_init = f.read_as<float>(kHInitName, {expected.hidden});
  w.L_init = f.read_as<float>(kLInitName, {expected.hidden});
  check_finite(f, w.layout, "", w.params);
  check_finite(f, kPuzzleEmbName, w.puzzle_emb);
  check_finite(f, kHInitName, w.H_init);
  check_finite(f, kLInitName, w.L_init);
  return w;
}

TrainerState load_checkpoint(const std::string& path, const HrmDims& expected, std::int64_t global_batch,
                             std::int64_t world_size, std::int64_t rank) {
  TrainerState s;
  s.weights = load_weights(path, expected);
  const SafetensorsFile f = SafetensorsFile::open(path);
  if (f.metadata("format") != kFormat)
    throw InputError(path, "is not a full hrmkit checkpoint (no optimizer state, carry or step)",
                     "a weights-only file starts a new run with --init-weights");
  const ParamLayout& l = s.weights.layout;
  s.adam_m.assign(l.total, 0.0f);
  s.adam_v.assign(l.total, 0.0f);
  for (const auto& t : l.tensors) {
    f.read_into("optimizer.m." + t.name, t.shape, slice(s.adam_m, t));
    f.read_into("optimizer.v." + t.name, t.shape, slice(s.adam_v, t));
  }
  // Checkpoints from before multi-rank runs have no world_size: they were written by one process.
  const auto stored_world_text = f.metadata("world_size");
  std::int64_t stored_world = 1;
  if (stored_world_text &&
      (std::from_chars(stored_world_text->data(), stored_world_text->data() + stored_world_text->size(), stored_world).ec !=
           std::errc() ||
       stored_world < 1))
    throw InputError(path, "metadata 'world_size' is not a positive integer");
  if (stored_world != world_size)
    throw InputError(path, fmt::format("was written by a run of {} rank(s), this run has {}: the ACT carry's slots belong "
                                       "to ranks and the gradient sums round per world size, so it would not continue "
                                       "bit for bit", stored_world, world_size),
                     fmt::format("resume with {} rank(s) (mpirun -np {} and hardware.num_gpus = {}), or start a new run "
                                 "from its weights with --init-weights", stored_world, stored_world, stored_world));
  const std::int64_t B = f.info("carry.steps").shape.empty() ? 0 : f.info("carry.steps").shape[0];
  if (B != global_batch)
    throw InputError(path, fmt::format("was written with a local batch of {} on each of {} rank(s), this run has {}",
                                       B / world_size, world_size, global_batch / world_size),
                     "resume with the batch size and GPU count the run started with");
  const HrmDims& d = expected;
  const std::int64_t b = B / world_size, r0 = rank * b;
  auto mine = [&](auto full, std::int64_t per_row) {  // this rank's slots of a (B, ...) tensor
    using V = typename decltype(full)::value_type;
    return std::vector<V>(full.begin() + r0 * per_row, full.begin() + (r0 + b) * per_row);
  };
  ActCarry<float>& c = s.carry;
  c.zH = mine(f.read_as<float>("carry.z_H", {B, d.tokens, d.hidden}), d.tokens * d.hidden);
  c.zL = mine(f.read_as<float>("carry.z_L", {B, d.tokens, d.hidden}), d.tokens * d.hidden);
  c.steps = mine(f.read_as<std::int32_t>("carry.steps", {B}), 1);
  c.halted = mine(f.read_as<std::uint8_t>("carry.halted", {B}), 1);
  c.data.inputs = mine(f.read_as<std::int32_t>("carry.inputs", {B, d.seq_len}), d.seq_len);
  c.data.labels = mine(f.read_as<std::int32_t>("carry.labels", {B, d.seq_len}), d.seq_len);
  c.data.puzzle_ids = mine(f.read_as<std::int32_t>("carry.puzzle_identifiers", {B}), 1);
  check_finite(f, l, "optimizer.m.", s.adam_m);
  check_finite(f, l, "optimizer.v.", s.adam_v);
  check_finite(f, "carry.z_H", c.zH);
  check_finite(f, "carry.z_L", c.zL);
  auto integer = [&](const char* key) {
    const auto v = f.metadata(key);
    std::int64_t x = 0;
    if (!v || std::from_chars(v->data(), v->data() + v->size(), x).ec != std::errc() || x < 0)
      throw InputError(path, fmt::format("metadata '{}' is missing or not a non-negative integer", key));
    return x;
  };
  s.step = integer("step");
  s.sampler.iteration = integer("sampler_iteration");
  s.sampler.batches = integer("sampler_batches");
  s.iteration_evaluated = integer("iteration_evaluated") != 0;
  return s;
}

std::string checkpoint_config(const std::string& path) {
  return SafetensorsFile::open(path).metadata("config").value_or("");
}

}  // namespace hrm
