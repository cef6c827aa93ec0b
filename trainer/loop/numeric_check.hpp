// numeric_check.hpp: finding the first NaN or infinity in a model's tensors, by name.
//
// A diverged step and a corrupted checkpoint both show up as non-finite floats; the message has to
// say where (tensor name, element, step) or the user has nothing to go on. The trainer checks the
// gradient before the optimizer touches the weights, and the weights it updated after, so the state
// a checkpoint would save is always finite and the last checkpoint on disk stays the good one.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "trainer/model/params.hpp"

namespace hrm {

struct NonFinite {
  std::string tensor;       // HRM's name of the tensor
  std::int64_t index = 0;   // flat element index within the tensor
  float value = 0;          // NaN, +inf or -inf
  std::string str() const;  // "tensor 'x' element 12 is nan"
};

// The first non-finite element of `v`, or -1.
std::int64_t first_nonfinite(std::span<const float> v);

// The first tensor of the slab `slab` (laid out by `layout`) holding a non-finite value.
std::optional<NonFinite> find_nonfinite(const ParamLayout& layout, std::span<const float> slab);

// Throws hrm::Error "step S: non-finite WHAT: tensor 'x' element i is nan; ..." when a tensor of the
// slab (`what`: "gradient", "parameter after the update") holds NaN or infinity.
void check_finite_slab(std::int64_t step, const char* what, const ParamLayout& layout, std::span<const float> slab);

// The same for the puzzle-embedding rows of the identifiers `ids`: `rows` is the whole table
// (num_identifiers x ndim, only rows ids[r] are read) or, with per_slot, one row per slot r (the
// puzzle gradients of a batch). Elements are named as in the table.
void check_finite_puzzle_rows(std::int64_t step, const char* what, std::span<const float> rows, std::int64_t ndim,
                              std::span<const std::int32_t> ids, bool per_slot);

// Throws hrm::Error "step S: the loss is nan (lm_loss ...)" when the step's total loss is not finite.
void check_finite_loss(std::int64_t step, const ops::ActStepStats& s);

}  // namespace hrm
