// test_config.cpp: strict TOML loading: every bad input is one InputError citing file:line:col.
#include <doctest/doctest.h>

#include "common/config.hpp"
#include "common/error.hpp"
#include "test_util.hpp"

using namespace hrm;

static const char* kGood = R"([data]
path = "data/x"

[train]
global_batch_size = 384
lr = 7e-5

[hardware]
num_gpus = 2
)";

TEST_CASE("config: a valid file loads, defaults are HRM's, positions are recorded") {
  Config c = parse_config(kGood, "good.toml");
  CHECK(c.data.path == "data/x");
  CHECK(c.train.global_batch_size == 384);
  CHECK(c.train.lr == doctest::Approx(7e-5));
  CHECK(c.train.lr_warmup_steps == 2000);
  CHECK(c.arch.hidden_size == 512);
  CHECK(c.puzzle_emb_ndim() == 512);
  CHECK(c.hardware.num_gpus == 2);
  CHECK(c.position_of("train.lr").str() == "good.toml:6:1");
}

TEST_CASE("config: malformed TOML is an error at its line and column") {
  CHECK_THROWS_WITH_AS(parse_config("[data]\npath = \"x\"\n[train\n", "bad.toml"), doctest::Contains("bad.toml:3:"), InputError);
}

TEST_CASE("config: an unknown key is an error with its position and a suggestion") {
  CHECK_THROWS_WITH_AS(parse_config("[data]\npath = \"x\"\n[train]\nglobal_batchsize = 3\n", "u.toml"),
                       doctest::Contains("u.toml:4:1: unknown key 'train.global_batchsize'"), InputError);
  try {
    parse_config("[data]\npath = \"x\"\n[train]\nglobal_batchsize = 3\n", "u.toml");
  } catch (const InputError& e) {
    CHECK(e.hint().find("train.global_batch_size") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(parse_config("[data]\npath = \"x\"\n[optim]\nlr = 1\n", "s.toml"), doctest::Contains("unknown key 'optim.lr'"),
                       InputError);
  CHECK_THROWS_WITH_AS(parse_config("epochs = 3\n[data]\npath = \"x\"\n", "t.toml"), doctest::Contains("unknown top-level key"),
                       InputError);
}

TEST_CASE("config: a wrong type is an error naming the key and the expected type") {
  CHECK_THROWS_WITH_AS(parse_config("[data]\npath = \"x\"\n[train]\nglobal_batch_size = \"768\"\n", "w.toml"),
                       doctest::Contains("w.toml:4:21: 'train.global_batch_size' must be an integer, got string"), InputError);
  CHECK_THROWS_WITH_AS(parse_config("[data]\npath = \"x\"\n[train]\nglobal_batch_size = 76.8\n", "w.toml"),
                       doctest::Contains("must be an integer"), InputError);
  // Integers are fine where numbers are expected.
  CHECK(parse_config("[data]\npath = \"x\"\n[train]\nlr = 1\n", "w.toml").train.lr == 1.0);
}

TEST_CASE("config: zero or negative sizes are rejected with their position") {
  CHECK_THROWS_WITH_AS(parse_config("[data]\npath = \"x\"\n[train]\nglobal_batch_size = 0\n", "z.toml"),
                       doctest::Contains("z.toml:4:1: 'train.global_batch_size' must be a positive integer"), InputError);
  CHECK_THROWS_WITH_AS(parse_config("[data]\npath = \"x\"\n[hardware]\nnum_gpus = -8\n", "z.toml"),
                       doctest::Contains("'hardware.num_gpus' must be a positive integer"), InputError);
  CHECK_THROWS_WITH_AS(parse_config("[data]\npath = \"x\"\n[train]\nepochs = -1\n", "z.toml"), doctest::Contains("'train.epochs'"),
                       InputError);
  CHECK_THROWS_WITH_AS(parse_config("[data]\npath = \"x\"\n[arch]\nnum_heads = 7\n", "z.toml"),
                       doctest::Contains("must divide arch.hidden_size"), InputError);
  CHECK_THROWS_WITH_AS(parse_config("[arch]\nhidden_size = 64\n", "m.toml"), doctest::Contains("'data.path' is missing"), InputError);
}

TEST_CASE("config: KEY=VALUE overrides go through the same validator") {
  Config c = parse_config(kGood, "good.toml");
  apply_override(c, "train.global_batch_size=768");
  apply_override(c, "arch.L_cycles=8");
  apply_override(c, "data.path=data/other");
  apply_override(c, "arch.loss_type=softmax_cross_entropy");
  validate_config(c);
  CHECK(c.train.global_batch_size == 768);
  CHECK(c.arch.L_cycles == 8);
  CHECK(c.data.path == "data/other");
  CHECK(c.overrides.size() == 4);
  CHECK_THROWS_WITH_AS(apply_override(c, "train.global_batch_size=abc"), doctest::Contains("'abc' is not an integer"), InputError);
  CHECK_THROWS_WITH_AS(apply_override(c, "train.batch=3"), doctest::Contains("unknown key 'train.batch'"), InputError);
  CHECK_THROWS_WITH_AS(apply_override(c, "noequals"), doctest::Contains("expected KEY=VALUE"), InputError);
  apply_override(c, "train.global_batch_size=-5");
  CHECK_THROWS_WITH_AS(validate_config(c), doctest::Contains("override 'train.global_batch_size=-5'"), InputError);
}

TEST_CASE("config: the resolved TOML reloads to the same config") {
  Config c = parse_config(kGood, "good.toml");
  Config again = parse_config(config_to_toml(c), "resolved.toml");
  CHECK(config_to_toml(again) == config_to_toml(c));
  CHECK(again.puzzle_emb_ndim() == 512);
}

// Found by fuzz_config (tests/fuzz/corpus/config/regress-override-invalid-utf8): an override put
// raw bytes into data.path, the config validated, and writing resolved.toml then threw a misleading
// "invalid UTF-8 in a puzzle name" with no file named.
TEST_CASE("config fuzz regression: data.path must be valid UTF-8 without NUL, a UTF-8 path round-trips") {
  Config c = parse_config(kGood, "good.toml");
  apply_override(c, "data.path=x\xd4y");
  CHECK_THROWS_WITH_AS(validate_config(c), doctest::Contains("override 'data.path=x"), InputError);
  CHECK_THROWS_WITH_AS(validate_config(c), doctest::Contains("'data.path' is not valid UTF-8"), InputError);
  for (const char* bad : {"data.path=\xed\xa0\x80", "data.path=\xc0\xaf", "data.path=\xf4\x90\x80\x80", "data.path=a\xe2\x82"}) {
    apply_override(c, bad);
    CHECK_THROWS_AS(validate_config(c), InputError);
  }
  apply_override(c, std::string("data.path=a\0b", 13));
  CHECK_THROWS_AS(validate_config(c), InputError);  // (the message holds the NUL, so doctest cannot match past it)
  apply_override(c, "data.path=data/\xc3\xa9t\xc3\xa9 \xf0\x9f\xa7\xa9");  // "data/été 🧩"
  validate_config(c);
  CHECK(config_to_toml(c).find("path = \"data/\\u00e9t\\u00e9 \\U0001f9e9\"") != std::string::npos);
  const Config again = parse_config(config_to_toml(c), "resolved.toml");
  CHECK(again.data.path == c.data.path);
  // Found by fuzz_config (regress-override-del): a DEL byte is valid UTF-8 and JSON, but TOML wants it escaped.
  apply_override(c, "data.path=\x7fy");
  validate_config(c);
  CHECK(config_to_toml(c).find("path = \"\\u007fy\"") != std::string::npos);
  CHECK(parse_config(config_to_toml(c), "resolved.toml").data.path == "\x7fy");
  // Found by fuzz_config (regress-override-empty-path): `data.path=` validated, and its resolved.toml did not load.
  apply_override(c, "data.path=");
  CHECK_THROWS_WITH_AS(validate_config(c), doctest::Contains("override 'data.path=': 'data.path' is empty"), InputError);
}

TEST_CASE("config: a missing file is one clear error") {
  CHECK_THROWS_WITH_AS(load_config("/nonexistent/x.toml"), doctest::Contains("/nonexistent/x.toml: cannot open config file"), InputError);
}
