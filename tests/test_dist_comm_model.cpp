// test_dist_comm_model.cpp: the analyzer's communication model (analyzer/comm_model.hpp) against
// numbers worked out by hand: the FLOPs of HRM's Sudoku step (HRM-SPEC 1.10), ring all-reduce and
// all-gather times, step time and scaling efficiency; the interconnect config keys.
#include <doctest/doctest.h>

#include <cmath>

#include "analyzer/comm_model.hpp"
#include "common/config.hpp"
#include "common/error.hpp"

using namespace hrm;

namespace {

// Relative closeness: these are double formulas, so only rounding separates them from the hand values.
bool near(double got, double want, double rel = 1e-9) { return std::abs(got - want) <= rel * std::abs(want); }

Config sudoku_1k() {  // HRM's Sudoku model: D 512, 4+4 layers, 2x2 cycles, 16 ACT steps, B 768
  Config c;
  c.train.global_batch_size = 768;
  c.hardware.num_gpus = 8;
  return c;
}

}  // namespace

TEST_CASE("FLOPs per step: 6.98 MFLOP per token and block, 64 block equivalents, 28 TFLOP for Sudoku at B = 768 (HRM-SPEC 1.10)") {
  const Config c = sudoku_1k();
  const ModelShape m = model_shape(c.arch, 512, 81, 11);
  REQUIRE(m.tokens == 82);
  REQUIRE(m.intermediate == 1536);
  // block = 2 (4 D^2 + 3 D I) + 4 T D = 2 (1,048,576 + 2,359,296) + 167,936 = 6,983,680 per token
  // blocks = (2*2*4 + 2*4) x 2 forward segments + 2 x (4 + 4) backward = 64
  // lm_head = 2 D V S x (2 + 2) = 3,649,536 per row
  // per row = 82 x 64 x 6,983,680 + 3,649,536 = 36,654,002,176; x 768 rows:
  CHECK(near(train_step_flops(m, c.arch, 768), 28150273671168.0));
  // halt_max_steps = 1: no Q-target segment, so 24 + 16 = 40 block equivalents and 3 lm_head passes
  ArchConfig one = c.arch;
  one.halt_max_steps = 1;
  CHECK(near(train_step_flops(m, one, 1), 82.0 * 40 * 6983680 + 2.0 * 512 * 11 * 81 * 3));
}

TEST_CASE("ring collectives: all-reduce 2(W-1)/W x bytes / bandwidth, all-gather (W-1)/W x bytes / bandwidth") {
  Config c = sudoku_1k();
  c.hardware.interconnect = "infiniband";
  c.hardware.interconnect_gbps = 80;  // 10 GB/s
  c.hardware.gpu_tflops = 100;
  const ModelShape m = model_shape(c.arch, 512, 81, 11);
  const CommModel cm = comm_model(c, m, 1000000);
  CHECK(cm.interconnect_gbps == 80);
  CHECK(cm.dense_gradient_bytes == 4e6);
  CHECK(cm.puzzle_gather_bytes == 768.0 * (4 * 512 + 4));  // fp32 row + int32 id per slot of the global batch
  CHECK(cm.bytes_per_step == 4e6 + 1575936.0);
  REQUIRE(cm.scaling.size() == 7);
  const ScalingPoint& w1 = cm.scaling[0];
  CHECK(w1.num_gpus == 1);
  CHECK(w1.comm_s == 0);  // nothing to exchange with one GPU
  CHECK(w1.efficiency == 1.0);
  CHECK(near(w1.compute_s, 28150273671168.0 / 100e12));
  const ScalingPoint& w4 = cm.scaling[2];
  CHECK(w4.num_gpus == 4);
  CHECK(w4.per_gpu_batch == 192);
  CHECK(near(w4.allreduce_s, 2.0 * 3 / 4 * 4e6 / 1e10));       // 600 us
  CHECK(near(w4.allgather_s, 3.0 / 4 * 1575936.0 / 1e10));     // 118.2 us
  CHECK(near(w4.compute_s, w1.compute_s / 4));
  CHECK(near(w4.step_s, w4.compute_s + w4.allreduce_s + w4.allgather_s));
  CHECK(near(w4.efficiency, w1.step_s / (4 * w4.step_s)));
  CHECK(near(w4.examples_per_s, 768 / w4.step_s));
  CHECK(cm.configured.num_gpus == 8);
  CHECK(near(cm.configured.step_s, cm.scaling[3].step_s));
  // 768 is not divisible by 64? It is (12 per GPU); by 32 too. A batch of 100 is not divisible by 8:
  c.train.global_batch_size = 100;
  const CommModel odd = comm_model(c, m, 1000000);
  CHECK(!odd.scaling[3].divisible);
  CHECK(odd.scaling[2].divisible);
}

TEST_CASE("the default bandwidth follows hardware.interconnect, unknown names and negative bandwidth are config errors") {
  CHECK(default_interconnect_gbps("nvlink") == 2400);
  CHECK(default_interconnect_gbps("infiniband") == 200);
  CHECK(default_interconnect_gbps("pcie") == 200);
  CHECK(default_interconnect_gbps("ethernet") == 100);
  Config c = sudoku_1k();
  const ModelShape m = model_shape(c.arch, 512, 81, 11);
  // 8 x H100 on NVLink with the defaults: the 109 MB slab takes 2 x 7/8 x 109,101,064 B / 300 GB/s = 636 us
  const CommModel cm = comm_model(c, m, 27275266);
  CHECK(cm.interconnect == "nvlink");
  CHECK(near(cm.configured.allreduce_s, 1.75 * 109101064.0 / 300e9));

  CHECK_THROWS_WITH_AS(parse_config("[data]\npath = \"d\"\n[hardware]\ninterconnect = \"token-ring\"\n", "hw.toml"),
                       doctest::Contains("hw.toml:4:1"), InputError);
  CHECK_THROWS_WITH_AS(parse_config("[data]\npath = \"d\"\n[hardware]\ninterconnect_gbps = -1\n", "hw.toml"),
                       doctest::Contains("interconnect_gbps"), InputError);
  Config ok = parse_config("[data]\npath = \"d\"\n[hardware]\ninterconnect = \"pcie\"\ninterconnect_gbps = 128\ngpu_tflops = 50\n", "hw.toml");
  validate_config(ok);
  CHECK(ok.hardware.interconnect_gbps == 128);
  CHECK(comm_model(ok, m, 10).interconnect_gbps == 128);
}
