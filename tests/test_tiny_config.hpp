// test_tiny_config.hpp: the small HRM the trainer suites train on real Sudoku puzzles
// (hrm_test::sudoku_1k_dataset): hidden 32, 2 heads, 1 + 1 layers, up to 3 ACT segments with
// exploration 0.5, lr 1e-3 after 3 warmup steps, seed 5.
#pragma once

#include <cstdint>

#include "common/config.hpp"
#include "test_util.hpp"

namespace hrm_test {

inline hrm::Config tiny_config(std::int64_t batch, std::int64_t epochs, std::int64_t eval_interval) {
  hrm::Config c;
  c.data.path = sudoku_1k_dataset();
  c.arch.hidden_size = 32;
  c.arch.num_heads = 2;
  c.arch.H_layers = 1;
  c.arch.L_layers = 1;
  c.arch.halt_max_steps = 3;
  c.arch.halt_exploration_prob = 0.5;
  c.train.global_batch_size = batch;
  c.train.epochs = epochs;
  c.train.eval_interval = eval_interval;
  c.train.lr = 1e-3;
  c.train.lr_warmup_steps = 3;
  c.train.lr_min_ratio = 0.1;
  c.train.seed = 5;
  return c;
}

}  // namespace hrm_test
