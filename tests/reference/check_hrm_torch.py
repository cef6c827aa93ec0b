#!/usr/bin/python3
"""check_hrm_torch.py: self-checks of the PyTorch oracle tests/reference/hrm_torch.py.

  gradient     autograd gradient of the one-step model (the part of a segment with a graph, heads
               and loss) against central differences in float64: every input along random
               directions, small tensors element by element (torch.autograd.gradcheck); two tiny
               configurations covering rope/learned, stablemax/softmax, P = 1 and P = 2
  param-count  the Sudoku configuration has 27,275,266 trainable parameters, 27,317,250 with
               learned positions (HRM-SPEC 1.2)
  adam-step1   HRM-SPEC 11.1 item 7 on a default-initialised model: the q_continue row and bias of
               q_head get an exactly zero gradient at step 1 and the bias only decays, -5 -> -4.99975
               (lr 5e-4, wd 0.1); every other element with a gradient moves by lr atan(0.1)/0.1
  fixtures     regenerating the fixtures gives files byte-identical to tests/golden/hrm_small
  upstream     (with --hrm-git or HRM_GIT) HRM's own models/ code, from a git checkout or mirror
               of sapientinc/HRM (or a folder of its files, as ./run gpu-debs exports): same initial weights from the same seed, and the fixture
               training runs replayed through HRM's ACT wrapper, loss head, sparse embedding,
               sign-SGD and LR schedule equal this oracle step by step (carry, halting, logits,
               Q targets, losses, metrics, gradients, parameters) and the committed fixtures

Exit status: 0 all passed, 1 a check failed, 77 torch is not installed (skip).

  /usr/bin/python3 tests/reference/check_hrm_torch.py [--hrm-git /path/to/HRM[.git]] [--only NAME ...]

HRM's code is not copied into hrmkit. For the upstream check hrm_upstream.py extracts it into a
temporary folder with counted edits: every torch.float32 becomes torch.float64 (the oracle's
precision; with forward_dtype=float64 this is HRM without its rounding) plus hrm_upstream's
PyTorch 1.13 spellings; flash-attn is replaced by plain softmax attention (a stub module), and
pydantic is stubbed where it is not installed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import hrm_torch as ht  # sets ATEN_CPU_CAPABILITY before torch is imported
    import torch
except ImportError as e:
    if e.name in ("torch", "numpy"):
        print(f"SKIP: {e.name} is not installed")
        sys.exit(77)
    raise

import argparse
import ast
import dataclasses
import filecmp
import math
import subprocess
import tempfile
import traceback

import numpy as np
import hrm_upstream
from torch.autograd.gradcheck import GradcheckError
from torch.nn.utils import stateless

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(REPO, "tests", "golden", "hrm_small")


class CheckFailed(Exception):
    pass


def expect(ok: bool, message: str) -> None:
    if not ok:
        raise CheckFailed(message)


def max_rel_diff(a, b) -> float:
    """max |a - b| / max |b| (0 when both are all zero)."""
    a, b = (x.detach().to(torch.float64) if torch.is_tensor(x) else torch.from_numpy(np.array(x, dtype=np.float64))
            for x in (a, b))
    expect(a.shape == b.shape, f"shape {tuple(a.shape)} != {tuple(b.shape)}")
    scale = b.abs().max().item() if b.numel() else 0.0
    diff = (a - b).abs().max().item() if b.numel() else 0.0
    return diff / scale if scale > 0 else (0.0 if diff == 0 else math.inf)


def tiny_config(**overrides) -> ht.HrmConfig:
    base = dict(vocab_size=5, seq_len=6, hidden_size=16, num_heads=2, H_layers=1, L_layers=2, H_cycles=2,
                L_cycles=2, expansion=4.0, puzzle_emb_ndim=16, num_puzzle_identifiers=3, pos_encodings="rope",
                halt_max_steps=4, halt_exploration_prob=0.1, loss_type="stablemax_cross_entropy")
    base.update(overrides)
    return ht.HrmConfig(**base)


# ---------------------------------------------------------------------------------------------
# (a) gradient of the one-step model

class OneStepLoss(torch.nn.Module):
    """Puzzle vectors, carry and fixed Q target -> total loss, through the oracle's own pieces."""

    def __init__(self, inner: ht.HrmInner):
        super().__init__()
        self.inner = inner

    def forward(self, puzzle_vectors, z_H, z_L, data, target, halted, steps):
        inner = self.inner
        x = inner.input_embeddings(data["inputs"], puzzle_vectors)
        z_H, _ = inner.one_step(z_H, z_L, x)
        logits, q_halt, q_continue = inner.heads(z_H)
        total, _, _ = ht.act_loss(inner.cfg.loss_type, logits, q_halt, q_continue, target, data["labels"],
                                  halted, steps)
        return total


def check_gradient() -> str:
    configs = [tiny_config(),
               tiny_config(pos_encodings="learned", loss_type="softmax_cross_entropy", puzzle_emb_ndim=24)]
    for cfg in configs:
        torch.manual_seed(1)
        inner = ht.HrmInner(cfg)
        ht.hrm_init_(inner)
        with torch.no_grad():
            inner.q_head.weight.normal_(0, 0.2)
            inner.puzzle_emb.weights.normal_(0, 0.1)
        b = 3
        data = ht.draw_batch(cfg, b, all_ignored_row=1)
        z_H = torch.randn(b, cfg.total_len, cfg.hidden_size, dtype=torch.float64)
        z_L = torch.randn(b, cfg.total_len, cfg.hidden_size, dtype=torch.float64)
        target = torch.rand(b, dtype=torch.float64)
        halted = torch.tensor([True, False, True])
        steps = torch.tensor([1, 2, 3], dtype=torch.int32)
        puzzle = inner.puzzle_emb.weights[data["puzzle_identifiers"].long()].clone()
        module = OneStepLoss(inner)
        names = [n for n, _ in module.named_parameters()]
        inputs = tuple(p.detach().clone().requires_grad_(True) for _, p in module.named_parameters())
        inputs += (puzzle.requires_grad_(True),)

        def fn(*tensors):
            return stateless.functional_call(module, dict(zip(names, tensors[:-1])),
                                             (tensors[-1], z_H, z_L, data, target, halted, steps))

        # Every input along two random directions (central differences), then the small tensors
        # element by element (gradcheck).
        grads = torch.autograd.grad(fn(*inputs), inputs)
        eps = 1e-6
        for i, (name, g) in enumerate(zip(names + ["puzzle_vectors"], grads)):
            for _ in range(2):
                u = torch.randn_like(g)
                with torch.no_grad():
                    shifted = lambda sign: fn(*(t + sign * eps * u if j == i else t for j, t in enumerate(inputs)))
                    numeric = ((shifted(1) - shifted(-1)) / (2 * eps)).item()
                analytic = (g * u).sum().item()
                expect(abs(numeric - analytic) <= 1e-6 * abs(analytic) + 1e-9,
                       f"{cfg.pos_encodings}/{cfg.loss_type}: d loss / d {name}: autograd {analytic!r}, "
                       f"central difference {numeric!r}")
        small = [i for i, t in enumerate(inputs) if t.numel() <= 400]

        def fn_small(*tensors):
            full = list(inputs)
            for i, t in zip(small, tensors):
                full[i] = t
            return fn(*full)

        torch.autograd.gradcheck(fn_small, tuple(inputs[i] for i in small), eps=1e-6, atol=1e-8, rtol=1e-6)
    return (f"{len(configs)} configurations: every parameter and the puzzle vectors along random directions, "
            f"tensors of <= 400 elements element-wise")


# ---------------------------------------------------------------------------------------------
# (b) parameter count of the Sudoku configuration

def check_param_count() -> str:
    counts = {}
    for pos, expected in (("rope", 27_275_266), ("learned", 27_317_250)):
        cfg = ht.HrmConfig(vocab_size=11, seq_len=81, hidden_size=512, num_heads=8, H_layers=4, L_layers=4,
                           H_cycles=2, L_cycles=2, expansion=4.0, puzzle_emb_ndim=512, num_puzzle_identifiers=1,
                           pos_encodings=pos, halt_max_steps=16, halt_exploration_prob=0.1,
                           loss_type="stablemax_cross_entropy")
        n = sum(p.numel() for p in ht.HrmInner(cfg).parameters())
        expect(n == expected, f"{pos}: {n} parameters, expected {expected}")
        counts[pos] = n
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


# ---------------------------------------------------------------------------------------------
# (c) AdamATan2 at step 1 of a default-initialised model (HRM-SPEC 11.1 item 7)

def check_adam_step1() -> str:
    cfg = tiny_config(halt_max_steps=16)
    torch.manual_seed(2)
    inner = ht.HrmInner(cfg)
    ht.hrm_init_(inner)
    lr, wd = 5e-4, 0.1
    opt = ht.OptConfig(lr=lr, lr_min_ratio=1.0, lr_warmup_steps=0, total_steps=10, beta1=0.9, beta2=0.95,
                       weight_decay=wd, puzzle_emb_lr=1e-2, puzzle_emb_weight_decay=0.1)
    trainer = ht.HrmTrainer(inner, opt, global_batch_size=4)
    before = {n: p.detach().clone() for n, p in ht.named_parameters(inner).items()}
    batch = ht.draw_batch(cfg, 4, all_ignored_row=None)
    rec = trainer.train_step(batch, torch.zeros(4, dtype=torch.int32))
    expect(rec["lr"].item() == lr, f"lr {rec['lr'].item()}")
    q = ht.STATE_PREFIX + "q_head."
    expect(bool((rec["grad." + q + "weight"][1] == 0).all()), "q_continue weight gradient is not exactly 0")
    expect(rec["grad." + q + "bias"][1].item() == 0, "q_continue bias gradient is not exactly 0")
    bias = inner.q_head.bias.detach()
    expect(abs(bias[1].item() - (-4.99975)) < 1e-12, f"q_continue bias {bias[1].item()!r}, expected -4.99975")
    # Every element moves by its decay plus exactly lr atan(t1)/t1 (t1 = 1 - beta1) when g != 0.
    t1 = 1 - opt.beta1
    step = lr / t1 * math.atan(t1)
    for name, p in ht.named_parameters(inner).items():
        g = rec["grad." + name]
        moved = (p.detach() - before[name] * (1 - lr * wd)).abs()
        expected = torch.where(g != 0, torch.full_like(g, step), torch.zeros_like(g))
        expect(bool(((moved - expected).abs() <= 1e-12 * step).all()), f"{name}: AdamATan2 step-1 move")
    expect((rec["grad." + q + "bias"][0] != 0).item(), "q_halt bias gradient is 0")
    return f"q_continue bias -5 -> {bias[1].item():.10g}; every other element moved by lr*{step / lr:.6f}"


# ---------------------------------------------------------------------------------------------
# Fixtures reproducible

def check_fixtures() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "hrm_torch.py"),
                        "--out", tmp], check=True, stdout=subprocess.DEVNULL)
        for spec in ht.FIXTURES:
            name = spec.name + ".safetensors"
            committed = os.path.join(GOLDEN, name)
            expect(os.path.exists(committed), f"{committed} is missing")
            if filecmp.cmp(committed, os.path.join(tmp, name), shallow=False):
                continue
            # Say where they part: another CPU architecture or libm can round the fp32 init differently.
            a, meta_a = ht.read_safetensors(committed)
            b, meta_b = ht.read_safetensors(os.path.join(tmp, name))
            expect(meta_a == meta_b and list(a) == list(b), f"{name}: metadata or tensor names differ")
            differ = [k for k in a if a[k].dtype != b[k].dtype or not np.array_equal(a[k], b[k])]
            worst = max(differ, key=lambda k: max_rel_diff(b[k], a[k]))
            raise CheckFailed(f"{name} is not byte-identical when regenerated: {len(differ)} tensors differ, first "
                              f"{differ[0]}, most {worst} ({max_rel_diff(b[worst], a[worst]):.3g} relative)")
    return ", ".join(spec.name for spec in ht.FIXTURES) + " regenerated byte-identical"


# ---------------------------------------------------------------------------------------------
# (d) HRM's own code

# The oracle's precision: every torch.float32 of HRM becomes torch.float64 (with forward_dtype =
# float64 this is HRM without its rounding); HRM's PyTorch 2 spellings as hrm_upstream.COMPAT_EDITS.
FLOAT64_EDITS = [
    ("models/layers.py", r"torch\.float32", "torch.float64", 3),
    ("models/losses.py", r"logits\.to\(torch\.float32\)\.view\(", "logits.to(torch.float64).reshape(", 1),
    ("models/losses.py", r"torch\.float32", "torch.float64", 1),
    ("models/hrm/hrm_act_v1.py", r"torch\.float32", "torch.float64", 1),
]


def plain_flash_attn_func(q, k, v, causal=False):
    """flash_attn_func's contract: (batch, seq, heads, head_dim) in, contiguous out, default scale
    1/sqrt(head_dim), no dropout."""
    assert not causal
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
    return torch.einsum("bhqk,bkhd->bqhd", torch.softmax(scores, dim=-1), v).contiguous()


def load_upstream(src: str, dest: str):
    """Extracts and imports HRM's models/ (edited as documented); returns (modules, lr function)."""
    act, losses, sparse, pretrain, commit, _ = hrm_upstream.load(src, dest, FLOAT64_EDITS + hrm_upstream.COMPAT_EDITS,
                                                                 plain_flash_attn_func)
    # pretrain.py's LR schedule, taken from its syntax tree (pretrain.py imports wandb, hydra, ...).
    tree = ast.parse(pretrain)
    fn = next(n for n in tree.body
              if isinstance(n, ast.FunctionDef) and n.name == "cosine_schedule_with_warmup_lr_lambda")
    namespace = {"math": math}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "pretrain.py", "exec"), namespace)
    return act, losses, sparse, namespace["cosine_schedule_with_warmup_lr_lambda"], commit


def upstream_config(cfg: ht.HrmConfig, batch_size: int, forward_dtype: str) -> dict:
    d = dataclasses.asdict(cfg)
    del d["loss_type"]
    return dict(d, batch_size=batch_size, forward_dtype=forward_dtype)


def check_init_matches(act, spec: ht.FixtureSpec) -> None:
    """HRM's constructor and hrm_init_ draw the same weights from the same seed."""
    torch.manual_seed(spec.seed)
    theirs = act.HierarchicalReasoningModel_ACTV1(upstream_config(spec.arch, spec.batch_size, "bfloat16"))
    torch.manual_seed(spec.seed)
    mine = ht.HrmInner(spec.arch)
    ht.hrm_init_(mine)
    ours = ht.named_state(mine)
    their_state = {"model." + k: v for k, v in theirs.state_dict().items()}
    expect(their_state.keys() == ours.keys(), f"state names differ: {sorted(set(their_state) ^ set(ours))}")
    for name, v in their_state.items():
        expect(bool((v.to(torch.float64) == ours[name]).all()), f"init {name} differs from HRM's")


def check_lr_matches(upstream_lr) -> None:
    for warm, total, r in ((2, 6, 0.1), (2, 4, 0.1), (2000, 26041, 1.0), (0, 10, 1.0), (5, 3, 0.3)):
        opt = ht.OptConfig(lr=0, lr_min_ratio=r, lr_warmup_steps=warm, total_steps=total, beta1=0.9, beta2=0.95,
                           weight_decay=0, puzzle_emb_lr=0, puzzle_emb_weight_decay=0)
        for step in list(range(0, 12)) + [1999, 2000, 2001, 13000, 26040, 26041]:
            for base in (1e-3, 7e-5, 1e-2):
                theirs = upstream_lr(step, base_lr=base, num_warmup_steps=round(warm), num_training_steps=total,
                                     min_ratio=r)
                expect(ht.lr_at(base, step, opt) == theirs, f"lr(step {step}, warm {warm}, total {total}, r {r})")


def replay_fixture(act, losses, sparse, upstream_lr, spec: ht.FixtureSpec) -> float:
    """Runs a fixture's steps through HRM's modules and through the oracle in lockstep; returns the
    the worst relative differences {"oracle": ..., "committed F64": ..., "committed F32": ...}."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        head = losses.ACTLossHead(act.HierarchicalReasoningModel_ACTV1(
            upstream_config(spec.arch, spec.batch_size, "float64")), loss_type=spec.arch.loss_type)
    finally:
        torch.set_default_dtype(default)
    head.train()
    torch.manual_seed(spec.seed)
    inner = ht.fixture_model(spec)
    head.load_state_dict(ht.named_state(inner), strict=True)
    trainer = ht.HrmTrainer(inner, spec.opt, spec.batch_size)
    opt = spec.opt
    adam = ht.AdamATan2(list(head.parameters()), opt.beta1, opt.beta2, opt.weight_decay)
    puzzle_emb = head.model.inner.puzzle_emb
    committed = None
    path = os.path.join(GOLDEN, spec.name + ".safetensors")
    if os.path.exists(path):
        committed = ht.read_safetensors(path)[0]
    carry, worst = None, {"oracle": 0.0, "committed F64": 0.0, "committed F32": 0.0}

    def same(what, theirs, ours, kind="oracle"):
        tol = 2e-7 if kind == "committed F32" else 1e-10
        d = max_rel_diff(ours, theirs)
        worst[kind] = max(worst[kind], d)
        expect(d <= tol, f"{spec.name} step {k}: {what} differs from HRM's by {d:.3g} (relative)")

    keys = ["logits", "q_halt_logits", "q_continue_logits", "target_q_continue"]
    for k in range(1, spec.steps + 1):
        row = spec.all_ignored[1] if spec.all_ignored[0] == k else None
        batch = ht.draw_batch(spec.arch, spec.batch_size, row)
        rng = torch.get_rng_state()
        min_halt = ht.draw_min_halt_steps(spec.arch, spec.batch_size)
        torch.set_rng_state(rng)  # HRM draws the same exploration inside its forward
        if carry is None:
            carry = head.initial_carry(batch)
        carry, loss, metrics, outputs, _ = head(return_keys=keys, carry=carry, batch=batch)
        ((1 / spec.batch_size) * loss).backward()
        rec = trainer.train_step(batch, min_halt)

        theirs = {"carry." + n: v for n, v in carry.current_data.items()}
        theirs.update(outputs)
        theirs.update(halted=carry.halted.to(torch.int32), steps=carry.steps,
                      loss=(1 / spec.batch_size) * loss.detach())
        theirs.update({("metrics." + n if not n.endswith("loss") else n): v for n, v in metrics.items()})
        theirs.update({"grad." + n: p.grad for n, p in head.named_parameters()})
        theirs["grad.puzzle_emb_local"] = puzzle_emb.local_weights.grad
        for name, v in theirs.items():
            if v.dtype in (torch.int32, torch.int64, torch.bool):
                expect(bool((v.to(torch.int64).reshape(-1) == rec[name].to(torch.int64).reshape(-1)).all()),
                       f"{spec.name} step {k}: {name} differs from HRM's")
            else:
                same(name, v.detach().reshape(rec[name].shape), rec[name])
            if committed is not None:  # the committed fixture holds HRM's numbers too
                stored = committed[f"step{k}.{name}"]
                if stored.dtype == np.int32:
                    expect(bool((stored.reshape(-1) == v.to(torch.int64).numpy().reshape(-1)).all()),
                           f"{spec.name} step {k}: committed {name} differs from HRM's")
                else:
                    same("committed " + name, v.detach().reshape(stored.shape), stored,
                         "committed F64" if stored.dtype == np.float64 else "committed F32")

        # Optimizers: HRM's schedule and sign-SGD, the oracle's AdamATan2 (a CUDA package upstream).
        lr = upstream_lr(k, base_lr=opt.lr, num_warmup_steps=round(opt.lr_warmup_steps),
                         num_training_steps=opt.total_steps, min_ratio=opt.lr_min_ratio)
        puzzle_lr = upstream_lr(k, base_lr=opt.puzzle_emb_lr, num_warmup_steps=round(opt.lr_warmup_steps),
                                num_training_steps=opt.total_steps, min_ratio=opt.lr_min_ratio)
        expect(rec["lr"].item() == lr and rec["puzzle_emb_lr"].item() == puzzle_lr, f"step {k}: lr")
        # (int64 ids: torch 1.13 cannot index with int32)
        sparse._sparse_emb_signsgd_dist(puzzle_emb.local_weights.grad, puzzle_emb.local_ids.long(), puzzle_emb.weights,
                                        lr=puzzle_lr, weight_decay=opt.puzzle_emb_weight_decay, world_size=1)
        adam.step(lr)
        puzzle_emb.local_weights.grad = None
        for p in head.parameters():
            p.grad = None
        ours = ht.named_state(inner)
        for name, v in head.state_dict().items():
            same("after the step, " + name, v, ours[name])
            committed_name = f"step{k}.param.{name}"
            if committed is not None and committed_name in committed:
                same("committed " + committed_name, v, committed[committed_name], "committed F32")
    return worst


def check_upstream(git_dir: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        act, losses, sparse, upstream_lr, commit = load_upstream(git_dir, tmp)
        check_lr_matches(upstream_lr)
        worst = {}
        for spec in ht.FIXTURES:
            check_init_matches(act, spec)
            worst[spec.name] = replay_fixture(act, losses, sparse, upstream_lr, spec)
    return (f"HRM {commit[:7]}: init bit-identical, LR schedule identical; fixtures replayed, worst relative "
            f"difference to HRM: " + "; ".join(f"{name} " + ", ".join(f"{k} {v:.2g}" for k, v in w.items())
                                               for name, w in worst.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hrm-git", default=os.environ.get("HRM_GIT"),
                        help="git checkout or mirror of sapientinc/HRM for the upstream check (default $HRM_GIT)")
    parser.add_argument("--only", nargs="*", help="run only these checks")
    args = parser.parse_args()
    torch.set_num_threads(1)
    checks = {"gradient": check_gradient, "param-count": check_param_count, "adam-step1": check_adam_step1,
              "fixtures": check_fixtures}
    if args.hrm_git:
        checks["upstream"] = lambda: check_upstream(args.hrm_git)
    failed = 0
    for name, check in checks.items():
        if args.only and name not in args.only:
            continue
        try:
            print(f"PASS {name}: {check()}")
        except (CheckFailed, subprocess.CalledProcessError, GradcheckError) as e:
            print(f"FAIL {name}: {e}")
            failed += 1
        except Exception:  # a crash in a check is a failure, with its traceback
            traceback.print_exc()
            print(f"FAIL {name}: crashed")
            failed += 1
    if not args.hrm_git:
        print("SKIP upstream: no --hrm-git / HRM_GIT (a git checkout or mirror of sapientinc/HRM)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
