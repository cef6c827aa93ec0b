// batches.hpp: model batches from an HRM dataset split, and the exploration draws of a step.
//
// Labels equal to the dataset's ignore_label_id become ops::kIgnoreLabel (-100), as HRM's collate
// does (HRM-SPEC 2.1). Test batches are padded to the local batch with inputs 0, labels -100,
// identifier 0 (5.2).
#pragma once

#include <cstdint>

#include "datasets/dataset.hpp"
#include "datasets/sampler.hpp"
#include "trainer/model/act.hpp"

namespace hrm {

// Rows of a training batch (from batch_rows) into `out` (b rows).
void load_train_batch(ActBatch& out, const DatasetSplit& split, const BatchRows& rows);
// Examples [tb.local_begin, tb.local_end) of the test split into `out` (b rows, padded).
void load_test_batch(ActBatch& out, const DatasetSplit& split, const TestBatch& tb, std::int64_t local_batch);

// HRM's exploration (HRM-SPEC 1.8 step 4) for optimizer step `step`: per slot of the global batch,
// with probability `prob` a minimum halting step drawn uniformly from 2..halt_max_steps, else 0.
// Counter-based (a stream per step from the run's seed), so a resumed run draws what an
// uninterrupted one would, and every rank draws the same global vector; out gets slots
// [row_begin, row_end).
void exploration_draws(std::int32_t* out, std::uint64_t seed, std::int64_t step, std::int64_t global_batch,
                       std::int64_t row_begin, std::int64_t row_end, double prob, std::int64_t halt_max_steps);

}  // namespace hrm
