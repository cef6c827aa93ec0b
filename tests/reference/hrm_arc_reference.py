#!/usr/bin/python3
"""hrm_arc_reference.py: runs HRM's own dataset/build_arc_dataset.py and records SHA-256 hashes of
its output, the oracle for tests/test_build_arc.cpp.

HRM's code is not part of hrmkit: it is extracted from a git checkout or mirror of sapientinc/HRM
into a temporary folder for each run. Three things are changed around it, none inside it:
  - argdantic (not packaged by Debian) is stubbed; HRM only uses it to declare its CLI;
  - the two portability fixes of HRM-SPEC 11.2 items 5-6: subfolders (os.scandir) and files (glob)
    are listed in sorted byte order, and the set of a task's destination splits iterates
    train before test (upstream it follows PYTHONHASHSEED);
  - pydantic 1.x (Debian 12) lacks model_dump(); it is aliased to dict(), which gives the same dict.

Needs python3-numpy and python3-pydantic (apt-get install python3-numpy python3-pydantic).

usage (from the repository root):
  tests/reference/hrm_arc_reference.py --hrm-git /path/to/HRM[.git] --num-aug 8 \
      --out /tmp/arc-ref --hashes tests/fixtures/arc/hashes/NAME.sha256 DIR [DIR...]
"""
import argparse
import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
import types


def extract_hrm(git_dir: str, rev: str, dest: str) -> str:
    commit = subprocess.run(["git", "--git-dir", git_dir, "rev-parse", rev], check=True,
                            capture_output=True, text=True).stdout.strip()
    for name in ["build_arc_dataset.py", "common.py"]:
        src = subprocess.run(["git", "--git-dir", git_dir, "show", f"{commit}:dataset/{name}"],
                             check=True, capture_output=True).stdout
        with open(os.path.join(dest, name), "wb") as f:
            f.write(src)
    return commit


def load_hrm_module(folder: str):
    argdantic = types.ModuleType("argdantic")

    class ArgParser:
        def command(self, *args, **kwargs):
            return lambda fn: fn

    argdantic.ArgParser = ArgParser
    sys.modules["argdantic"] = argdantic

    import pydantic
    if not hasattr(pydantic.BaseModel, "model_dump"):
        pydantic.BaseModel.model_dump = pydantic.BaseModel.dict

    sys.path.insert(0, folder)
    import build_arc_dataset as hrm
    return hrm


def apply_portability_fixes(hrm):
    import glob as glob_module

    class SortedOs(types.ModuleType):
        """os, except that scandir lists entries sorted by the bytes of their names."""

        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def scandir(path):
            return sorted(os.scandir(path), key=lambda e: os.fsencode(e.name))

    hrm.os = SortedOs("os")
    # Paths share the subfolder prefix; Python sorts str by code point, the same order as UTF-8 bytes.
    hrm.glob = lambda pattern: sorted(glob_module.glob(pattern))
    # convert_single_arc_puzzle builds `dests = set(dest_mapping.values())` from
    # {"train": ..., "test": ...}: keep that insertion order instead of the hash order.
    hrm.set = lambda values: list(dict.fromkeys(values))


def sha256_lines(out: str):
    lines = []
    for root, _dirs, files in os.walk(out):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            lines.append(f"{digest}  {os.path.relpath(path, out)}")
    return sorted(lines, key=lambda line: line.split("  ", 1)[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hrm-git", required=True, help="git folder of sapientinc/HRM (a mirror or a checkout's .git)")
    ap.add_argument("--rev", default="HEAD", help="HRM revision (HRM-SPEC was verified at 42410da)")
    ap.add_argument("--num-aug", type=int, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True, help="output dataset folder (must not exist)")
    ap.add_argument("--hashes", help="write 'sha256  relative/path' lines of every output file here")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    if os.path.exists(args.out):
        sys.exit(f"{args.out} exists; give a new folder")

    with tempfile.TemporaryDirectory() as tmp:
        commit = extract_hrm(args.hrm_git, args.rev, tmp)
        hrm = load_hrm_module(tmp)
        apply_portability_fixes(hrm)
        hrm.convert_dataset(hrm.DataProcessConfig(dataset_dirs=args.dirs, output_dir=args.out,
                                                  seed=args.seed, num_aug=args.num_aug))

    if args.hashes:
        command = " ".join(shlex.quote(a) for a in
                           ["tests/reference/hrm_arc_reference.py", "--hrm-git", "HRM.git",
                            "--num-aug", str(args.num_aug), "--seed", str(args.seed), "--out", "OUT",
                            "--hashes", args.hashes] + args.dirs)
        with open(args.hashes, "w") as f:
            f.write(f"# SHA-256 of every file HRM's build_arc_dataset.py (sapientinc/HRM @ {commit}) writes for:\n")
            f.write(f"#   hrm data build arc --dirs {' '.join(args.dirs)} --num-aug {args.num_aug} --seed {args.seed}\n")
            f.write(f"# produced by (see tests/reference/README.md):\n#   {command}\n")
            f.write("\n".join(sha256_lines(args.out)) + "\n")


if __name__ == "__main__":
    main()
