#!/usr/bin/python3
"""bench_torch_step.py: time one HRM ACT V1 training step of the PyTorch reference model
(tests/reference/hrm_torch.py) in float32 with PyTorch's native CPU kernels, for bench_train_cpu.

The step is the oracle's HrmTrainer.train_step: ACT forward with gradients, the Q-target segment,
loss, backward of total / B, sign-SGD and AdamATan2; same shapes and schedule as the C++ bench
(2x2 cycles, expansion 4, halt_max_steps 16, exploration 0.1, stablemax, puzzle embedding on).
Prints one JSON line: step_seconds_median, threads, torch version.

  /usr/bin/python3 bench/bench_torch_step.py --hidden 128 --heads 2 --H-layers 2 --L-layers 2 \\
      --seq-len 81 --vocab 11 --batch 64 --steps 5
"""
import argparse
import json
import os
import sys
import time

os.environ["HRM_TORCH_BENCH"] = "1"  # keep PyTorch's SIMD kernels (the oracle disables them for fixtures)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import hrm_torch as ht  # noqa: E402
import torch  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("hidden", "heads", "H-layers", "L-layers", "seq-len", "vocab", "batch"):
        p.add_argument("--" + name, type=int, required=True)
    p.add_argument("--steps", type=int, default=5)
    a = p.parse_args()
    ht.DTYPE = torch.float32  # the model the C++ bench times trains in float32
    torch.set_num_threads(len(os.sched_getaffinity(0)))  # Debian's torch starts with 1 thread; Eigen uses every core
    torch.manual_seed(0)
    cfg = ht.HrmConfig(vocab_size=a.vocab, seq_len=a.seq_len, hidden_size=a.hidden, num_heads=a.heads,
                       H_layers=a.H_layers, L_layers=a.L_layers, H_cycles=2, L_cycles=2, expansion=4.0,
                       puzzle_emb_ndim=a.hidden, num_puzzle_identifiers=1, pos_encodings="rope",
                       halt_max_steps=16, halt_exploration_prob=0.1, loss_type="stablemax_cross_entropy")
    opt = ht.OptConfig(lr=1e-4, lr_min_ratio=1.0, lr_warmup_steps=10, total_steps=1000, beta1=0.9, beta2=0.95,
                       weight_decay=0.1, puzzle_emb_lr=1e-2, puzzle_emb_weight_decay=0.1)
    inner = ht.HrmInner(cfg)
    ht.hrm_init_(inner)
    trainer = ht.HrmTrainer(inner, opt, a.batch)
    batch = ht.draw_batch(cfg, a.batch, None)
    times = []
    for s in range(a.steps + 2):  # two warm-up steps, as the C++ bench
        min_halt = ht.draw_min_halt_steps(cfg, a.batch)
        t0 = time.perf_counter()
        trainer.train_step(batch, min_halt)
        if s >= 2:
            times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({"step_seconds_median": times[len(times) // 2], "threads": torch.get_num_threads(),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
