// numeric_check.cpp: the first NaN/inf of a slab, named by tensor.
#include "trainer/loop/numeric_check.hpp"

#include <cmath>

#include <fmt/format.h>

#include "common/error.hpp"

namespace hrm {

namespace {

constexpr const char* kHint =
    "training stopped before the optimizer applied it; the last checkpoint is kept. "
    "hint: lower train.lr (or raise lr_warmup_steps) and resume from the last checkpoint";

}  // namespace

std::string NonFinite::str() const { return fmt::format("tensor '{}' element {} is {}", tensor, index, value); }

std::int64_t first_nonfinite(std::span<const float> v) {
  // A sum is NaN or inf when any term is; it costs one pass without branches, and only a hit pays
  // for the search. (inf - inf = NaN, so the sum cannot cancel a non-finite term.)
  float acc = 0;
  for (float x : v) acc += x * 0.0f;  // 0 for finite x, NaN for NaN or +-inf
  if (std::isfinite(acc)) return -1;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) return static_cast<std::int64_t>(i);
  return -1;
}

std::optional<NonFinite> find_nonfinite(const ParamLayout& layout, std::span<const float> slab) {
  if (first_nonfinite(slab) < 0) return std::nullopt;
  for (const TensorSlot& t : layout.tensors) {
    const auto part = slab.subspan(static_cast<std::size_t>(t.offset), static_cast<std::size_t>(t.size));
    const std::int64_t i = first_nonfinite(part);
    if (i >= 0) return NonFinite{t.name, i, part[static_cast<std::size_t>(i)]};
  }
  const std::int64_t i = first_nonfinite(slab);  // outside every tensor: a layout bug
  return NonFinite{"(slab)", i, slab[static_cast<std::size_t>(i)]};
}

void check_finite_slab(std::int64_t step, const char* what, const ParamLayout& layout, std::span<const float> slab) {
  if (const auto bad = find_nonfinite(layout, slab))
    throw Error(fmt::format("step {}: non-finite {}: {}; {}", step, what, bad->str(), kHint));
}

void check_finite_puzzle_rows(std::int64_t step, const char* what, std::span<const float> rows, std::int64_t ndim,
                              std::span<const std::int32_t> ids, bool per_slot) {
  if (ndim <= 0) return;
  const auto n = static_cast<std::size_t>(ndim);
  for (std::size_t r = 0; r < ids.size(); ++r) {
    const auto row = rows.subspan((per_slot ? r : static_cast<std::size_t>(ids[r])) * n, n);
    const std::int64_t i = first_nonfinite(row);
    if (i >= 0)
      throw Error(fmt::format("step {}: non-finite {}: {}; {}", step, what,
                              NonFinite{kPuzzleEmbName, static_cast<std::int64_t>(ids[r]) * ndim + i, row[static_cast<std::size_t>(i)]}.str(),
                              kHint));
  }
}

void check_finite_loss(std::int64_t step, const ops::ActStepStats& s) {
  if (!std::isfinite(s.total))
    throw Error(fmt::format("step {}: the loss is {} (lm_loss {}, q_halt_loss {}, q_continue_loss {}); training stopped, "
                            "the last checkpoint is kept. hint: lower train.lr or check the data",
                            step, s.total, s.lm_loss, s.q_halt_loss, s.q_continue_loss));
}

}  // namespace hrm
