#!/usr/bin/python3
"""test_hrmkit.py: the hrmkit Python module from Debian's python3 (CTest entry python_hrmkit).

Usage: PYTHONPATH=BUILD/python /usr/bin/python3 python/test_hrmkit.py SOURCE_DIR
Checks: a dict in HRM's layout, a YAML path and a TOML path give the report as a dict; strict=True
raises RejectedError with the report attached; bad input raises ConfigError naming the key.
Exit code 77 (CTest: skipped) when numpy is missing.
"""
import json
import os
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("numpy is missing (./run install-deps installs python3-numpy): skipped")
    sys.exit(77)

import hrmkit

SOURCE = sys.argv[1]
FIXTURES = os.path.join(SOURCE, "tests", "fixtures", "hrm_yaml")


def write_dataset(root, groups):
    """A Sudoku-shaped HRM dataset (vocab 11, 81 tokens): `groups` groups of one one-example puzzle."""
    split = os.path.join(root, "train")
    os.makedirs(split)
    rows = np.full((groups, 81), 2, dtype=np.uint8)
    np.save(os.path.join(split, "all__inputs.npy"), rows)
    np.save(os.path.join(split, "all__labels.npy"), rows)
    np.save(os.path.join(split, "all__puzzle_identifiers.npy"), np.zeros(groups, dtype=np.int32))
    np.save(os.path.join(split, "all__puzzle_indices.npy"), np.arange(groups + 1, dtype=np.int32))
    np.save(os.path.join(split, "all__group_indices.npy"), np.arange(groups + 1, dtype=np.int32))
    meta = {"pad_id": 0, "ignore_label_id": 0, "blank_identifier_id": 0, "vocab_size": 11, "seq_len": 81,
            "num_puzzle_identifiers": 1, "total_groups": groups, "mean_puzzle_examples": 1.0, "sets": ["all"]}
    with open(os.path.join(split, "dataset.json"), "w") as f:
        json.dump(meta, f)
    return root


def expect_raises(cls, fn, text):
    try:
        fn()
    except cls as e:
        assert text in str(e), f"{cls.__name__} without {text!r}: {e}"
        return e
    raise AssertionError(f"expected {cls.__name__} ({text})")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        ds = write_dataset(os.path.join(tmp, "ds"), 1000)
        # A PyTorch script's hydra config as a plain dict (OmegaConf.to_container / model_dump()).
        cfg = {
            "arch": {"name": "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1",
                     "loss": {"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"},
                     "halt_exploration_prob": 0.1, "halt_max_steps": 16, "H_cycles": 2, "L_cycles": 2, "H_layers": 4,
                     "L_layers": 4, "hidden_size": 512, "num_heads": 8, "expansion": 4, "puzzle_emb_ndim": 512,
                     "pos_encodings": "rope"},
            "data_path": "data/placeholder", "global_batch_size": 64, "epochs": 100, "eval_interval": 10,
            "checkpoint_every_eval": True, "lr": 1e-4, "lr_min_ratio": 1.0, "lr_warmup_steps": 600, "beta1": 0.9,
            "beta2": 0.95, "weight_decay": 0.1, "puzzle_emb_weight_decay": 0.1, "puzzle_emb_lr": 1e-2,
            "project_name": None, "run_name": None, "checkpoint_path": None, "seed": 0, "eval_save_outputs": [],
        }
        r = hrmkit.analyze(cfg, data_path=ds, num_gpus=2)
        assert isinstance(r, dict), type(r)
        assert r["format_version"] == 1
        assert r["verdict"] == "vetted", r["findings"]
        assert r["model_family"] == "hrm"
        assert r["config_format"] == "hrm-yaml"
        assert r["dataset"]["groups"] == 1000
        assert r["memory"]["num_params"] == 27275266
        assert r["config"]["hardware"]["num_gpus"] == 2

        # strict=True raises on a rejected config (63 rows do not split over 2 GPUs), with the report
        e = expect_raises(hrmkit.RejectedError, lambda: hrmkit.analyze(cfg, data_path=ds, num_gpus=2, overrides=["global_batch_size=63"],
                                                                      strict=True), "rejected")
        assert isinstance(e, RuntimeError)
        assert any(f["id"] == "batch-not-divisible" for f in e.report["findings"])
        # without strict the same config comes back as a rejected report
        assert hrmkit.analyze(cfg, data_path=ds, num_gpus=2, overrides=["global_batch_size=63"])["verdict"] == "rejected"
        # warnings_reject: a warning (per-GPU batch 8 is below 16) rejects too, as hrm analyze --strict
        assert hrmkit.analyze(cfg, data_path=ds, num_gpus=8)["verdict"] == "vetted"
        expect_raises(hrmkit.RejectedError, lambda: hrmkit.analyze(cfg, data_path=ds, num_gpus=8, strict=True, warnings_reject=True),
                      "rejected")

        # a YAML path (defaults composed from its folder) and a TOML path
        y = hrmkit.analyze(os.path.join(FIXTURES, "hrm", "config", "sudoku_extreme_1k.yaml"), data_path=ds, num_gpus=8)
        assert y["config"]["train"]["weight_decay"] == 1.0
        t = hrmkit.analyze(os.path.join(SOURCE, "configs", "sudoku-extreme-1k.toml"), data_path=ds)
        assert t["config_format"] == "toml"
        assert t["schedule"]["total_steps"] == y["schedule"]["total_steps"]
        assert "family = \"hrm\"" in hrmkit.to_toml(cfg)

        # bad input: ConfigError (a ValueError) naming the key, as hrm analyze's exit code 2
        bad = dict(cfg, learning_rate=1e-4)
        expect_raises(hrmkit.ConfigError, lambda: hrmkit.analyze(bad, data_path=ds), "unknown key 'learning_rate'")
        expect_raises(ValueError, lambda: hrmkit.analyze(cfg, data_path=os.path.join(tmp, "nothing")), "nothing")
        expect_raises(hrmkit.ConfigError, lambda: hrmkit.analyze(cfg, data_path=ds, overrides=["arch.L_cycles=many"]),
                      "'arch.L_cycles' must be an integer")
    print("hrmkit python module: all checks passed")


if __name__ == "__main__":
    main()
