// batches.cpp: dataset rows -> ActBatch; exploration draws.
#include "trainer/loop/batches.hpp"

#include <vector>

#include "common/error.hpp"
#include "datasets/puzzle_csv.hpp"

namespace hrm {

namespace {

void load_row(ActBatch& out, std::int64_t slot, const DatasetSplit& split, std::int64_t example, std::int64_t puzzle) {
  const std::int64_t S = split.meta().seq_len;
  const auto ignore = split.meta().ignore_label_id;
  for (std::int64_t t = 0; t < S; ++t) {
    out.inputs[slot * S + t] = static_cast<std::int32_t>(split.inputs().at(example * S + t));
    const std::int64_t lab = split.labels().at(example * S + t);
    out.labels[slot * S + t] = (ignore && lab == *ignore) ? ops::kIgnoreLabel : static_cast<std::int32_t>(lab);
  }
  out.puzzle_ids[slot] = static_cast<std::int32_t>(split.puzzle_identifiers()[puzzle]);
}

constexpr std::uint64_t kExplorationStream = 0x4558504c;  // "EXPL"

}  // namespace

void load_train_batch(ActBatch& out, const DatasetSplit& split, const BatchRows& rows) {
  const auto b = static_cast<std::int64_t>(rows.example.size());
  out.resize(b, split.meta().seq_len);
  for (std::int64_t i = 0; i < b; ++i) load_row(out, i, split, rows.example[i], rows.puzzle[i]);
}

void load_test_batch(ActBatch& out, const DatasetSplit& split, const TestBatch& tb, std::int64_t local_batch) {
  out.resize(local_batch, split.meta().seq_len);  // pad rows: inputs 0, labels -100, identifier 0
  HRM_CHECK(tb.local_end - tb.local_begin <= local_batch, "test batch larger than the local batch");
  for (std::int64_t e = tb.local_begin; e < tb.local_end; ++e)
    load_row(out, e - tb.local_begin, split, e, puzzle_of_example(split.puzzle_indices(), e));
}

void exploration_draws(std::int32_t* out, std::uint64_t seed, std::int64_t step, std::int64_t global_batch,
                       std::int64_t row_begin, std::int64_t row_end, double prob, std::int64_t halt_max_steps) {
  SplitMix64 rng(stream_seed(seed, kExplorationStream, static_cast<std::uint64_t>(step)));
  for (std::int64_t i = 0; i < global_batch; ++i) {
    const double u = static_cast<double>(rng.next() >> 11) * 0x1.0p-53;
    const std::int64_t m = halt_max_steps >= 2 ? 2 + static_cast<std::int64_t>(rng.below(halt_max_steps - 1)) : 0;
    if (i >= row_begin && i < row_end) out[i - row_begin] = u < prob ? static_cast<std::int32_t>(m) : 0;
  }
}

}  // namespace hrm
