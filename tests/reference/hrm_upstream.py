"""hrm_upstream.py: HRM's own model code (github.com/sapientinc/HRM: models/ and pretrain.py), loaded
from a git checkout or mirror at a revision, or from a plain folder holding those files (what
`./run gpu-debs` exports into .upstream/HRM for the GPU machine, with the commit in COMMIT).
Used by tests/reference/check_hrm_torch.py (HRM against the oracle) and bench/bench_torch_gpu.py
(HRM as the PyTorch baseline on the GPU). HRM's code is not copied into hrmkit.

The files are written into a temporary folder with edits, each a (file, regex, replacement, count)
whose count is checked. COMPAT_EDITS spell HRM's PyTorch >= 2.x idioms the 1.13 way and change no
number: `self.x = nn.Buffer(t, ...)` becomes `self.register_buffer("x", t, ...)`, `@torch.no_grad`
becomes `@torch.no_grad()`, and the sparse embedding and its sign-SGD index with int64 ids. Modules HRM imports
that are not installed are stubbed (install_stubs): flash_attn_interface (an attention function
with flash_attn_func's contract), pydantic's BaseModel (keyword fields with class defaults, extra
keys ignored, as pydantic does) and torch.optim.optimizer.ParamsT.
"""
import os
import re
import subprocess
import sys
import types
import typing
from typing import Callable, Dict, List, Tuple

REV = "42410da"  # the HRM-SPEC snapshot
FILES = ["models/common.py", "models/layers.py", "models/losses.py", "models/sparse_embedding.py",
         "models/hrm/hrm_act_v1.py", "pretrain.py"]
Edit = Tuple[str, str, str, int]
COMPAT_EDITS: List[Edit] = [
    ("models/layers.py", r"self\.(\w+) = nn\.Buffer\(", r'self.register_buffer("\1", ', 2),
    ("models/sparse_embedding.py", r"self\.(\w+) = nn\.Buffer\(", r'self.register_buffer("\1", ', 3),
    ("models/hrm/hrm_act_v1.py", r"self\.(\w+) = nn\.Buffer\(", r'self.register_buffer("\1", ', 2),
    ("models/sparse_embedding.py", r"@torch\.no_grad\n", "@torch.no_grad()\n", 1),
    ("models/sparse_embedding.py", r"self\.weights\[inputs\]", "self.weights[inputs.long()]", 2),
    ("models/sparse_embedding.py", r"all_ids\.unique\(", "all_ids.long().unique(", 1),
]


class UpstreamError(Exception):
    pass


def _git(src: str) -> List[str]:
    """The git command for repository `src` (a bare mirror or a checkout's .git, or a checkout);
    [] for a plain folder (even one inside another repository's work tree)."""
    if os.path.isdir(os.path.join(src, ".git")):
        return ["git", "--git-dir", os.path.join(src, ".git")]
    probe = subprocess.run(["git", "--git-dir", src, "rev-parse", "--is-bare-repository"], capture_output=True, text=True)
    return ["git", "--git-dir", src] if probe.returncode == 0 else []


def read_sources(src: str, rev: str = REV) -> Tuple[Dict[str, str], str]:
    """FILES' text and the commit they are from: `rev` of the git repository `src` (a checkout or a
    bare mirror), or the files of folder `src` and the commit written in src/COMMIT."""
    if not os.path.exists(src):
        raise UpstreamError(f"{src}: no such git repository or folder (expected sapientinc/HRM)")
    git = _git(src)
    if git:
        commit = subprocess.run(git + ["rev-parse", rev], check=True, capture_output=True, text=True).stdout.strip()
        return {p: subprocess.run(git + ["show", f"{commit}:{p}"], check=True, capture_output=True, text=True).stdout
                for p in FILES}, commit
    sources = {}
    for p in FILES:
        path = os.path.join(src, p)
        if not os.path.isfile(path):
            raise UpstreamError(f"{path}: missing (expected a copy of sapientinc/HRM's {p})")
        with open(path) as f:
            sources[p] = f.read()
    commit_file = os.path.join(src, "COMMIT")
    commit = open(commit_file).read().strip() if os.path.isfile(commit_file) else "unknown"
    return sources, commit


def write_edited(sources: Dict[str, str], dest: str, edits: List[Edit]) -> None:
    """The sources with `edits` applied (each count checked) as files under `dest`."""
    sources = dict(sources)
    for path, pattern, replacement, count in edits:
        sources[path], n = re.subn(pattern, replacement, sources[path])
        if n != count:
            raise UpstreamError(f"upstream edit {pattern!r} in {path}: {n} occurrences, expected {count}")
    for path, text in sources.items():
        os.makedirs(os.path.join(dest, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(dest, path), "w") as f:
            f.write(text)


class _BaseModel:
    """pydantic.BaseModel as HRM's config uses it: annotated fields from keywords or class defaults."""

    def __init__(self, **values):
        fields = {}
        for cls in reversed(type(self).__mro__):
            fields.update(getattr(cls, "__annotations__", {}))
        for name in fields:
            if name in values:
                setattr(self, name, values[name])
            elif hasattr(type(self), name):
                setattr(self, name, getattr(type(self), name))
            else:
                raise TypeError(f"{type(self).__name__}: field {name} is required")


def _installed(name: str) -> bool:
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def install_stubs(attention: Callable) -> Dict[str, str]:
    """Stubs for what HRM imports and is not installed; returns {module: "installed" | "stub"}."""
    used = {}
    if _installed("flash_attn_interface") or _installed("flash_attn"):
        used["flash_attn"] = "installed"
    else:
        sys.modules["flash_attn_interface"] = types.SimpleNamespace(flash_attn_func=attention)
        used["flash_attn"] = "stub"
    if _installed("pydantic"):
        used["pydantic"] = "installed"
    else:
        sys.modules["pydantic"] = types.SimpleNamespace(BaseModel=_BaseModel)
        used["pydantic"] = "stub"
    optimizer = sys.modules.get("torch.optim.optimizer") or __import__("torch.optim.optimizer").optim.optimizer
    if not hasattr(optimizer, "ParamsT"):
        optimizer.ParamsT = typing.Any  # (torch.optim deletes its name in 1.13)
    return used


def load(src: str, dest: str, edits: List[Edit], attention: Callable, rev: str = REV):
    """Imports HRM's modules from `src` (edited into `dest`). Returns (hrm_act_v1, losses,
    sparse_embedding, pretrain.py's text, commit, {module: installed | stub})."""
    sources, commit = read_sources(src, rev)
    write_edited(sources, dest, edits)
    used = install_stubs(attention)
    sys.path.insert(0, dest)
    import models.hrm.hrm_act_v1 as act
    import models.losses as losses
    import models.sparse_embedding as sparse
    return act, losses, sparse, sources["pretrain.py"], commit, used
