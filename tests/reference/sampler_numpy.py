#!/usr/bin/env python3
"""sampler_numpy.py: an independent NumPy transcription of HRM's sampler (puzzle_dataset.py:
_sample_batch, _iter_train, _iter_test; HRM-SPEC 5), the oracle for datasets/sampler.cpp.

It reads a built dataset's index arrays with np.load, as HRM does, and records which puzzle fills
each row instead of gathering inputs. HRM's within-puzzle example choice (np.random.choice on the
global RNG) is left out: it draws from another RNG than the Philox one, so it cannot change which
puzzles and how many rows each batch gets.

  train DATASET OUT --batch B --epochs-per-iter E --seed S --iterations N [--draws DIR] [--summary]
      Replays iterations 1..N. Draws come from np.random.Generator(np.random.Philox(seed + i)), or,
      with --draws, from DIR/group_order.npy (all iterations' group orders, concatenated) and
      DIR/picks.npy (every puzzle pick in order), e.g. recorded from the C++ sampler.
      Writes OUT/{batch_iteration,batch_offsets,groups,puzzles,rows,row_puzzles,
      batches_per_iteration,dropped_rows}.npy; with --summary only prints a JSON line of counts and
      the seconds taken (for bench/bench_analyzer).
  test DATASET OUT --batch B --world W
      HRM's test-split iteration: OUT/{windows,row_puzzles}.npy, windows rows =
      (rank, begin, end, local_start, local_end, pad).
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def load_split(dataset, split):
    with open(os.path.join(dataset, split, "dataset.json")) as f:
        sets = json.load(f)["sets"]
    data = {}
    for set_name in sets:
        data[set_name] = {name: np.load(os.path.join(dataset, split, f"{set_name}__{name}.npy"))
                          for name in ("puzzle_indices", "group_indices")}
        data[set_name]["num_examples"] = int(data[set_name]["puzzle_indices"][-1])
    return data


class ReplayedPicks:
    """Stands in for the Philox Generator in _sample_batch: hands out recorded picks in order."""

    def __init__(self, picks):
        self.picks = picks
        self.next = 0

    def integers(self, lo, hi):
        v = int(self.picks[self.next])
        self.next += 1
        if not lo <= v < hi:
            raise SystemExit(f"recorded pick {v} is outside [{lo}, {hi})")
        return v


def sample_batch(rng, group_order, puzzle_indices, group_indices, start_index, global_batch_size):
    """HRM's _sample_batch, recording (group, puzzle, rows) per drawn group."""
    batch = []
    current_size = 0
    while (start_index < group_order.size) and (current_size < global_batch_size):
        group_id = group_order[start_index]
        puzzle_id = rng.integers(group_indices[group_id], group_indices[group_id + 1])
        start_index += 1

        puzzle_start = puzzle_indices[puzzle_id]
        puzzle_size = int(puzzle_indices[puzzle_id + 1] - puzzle_start)
        append_size = min(puzzle_size, global_batch_size - current_size)
        batch.append((int(group_id), int(puzzle_id), append_size))
        current_size += append_size
    return start_index, batch, current_size


def iter_train(data, seed, global_batch_size, epochs_per_iter, iterations, draws):
    """HRM's _iter_train over `iterations` calls; yields (iteration, batch) and (iteration, None, dropped)."""
    consumed_order = 0
    picks = ReplayedPicks(draws[1]) if draws else None
    for it in range(1, iterations + 1):
        for set_name, dataset in data.items():
            num_groups = dataset["group_indices"].size - 1
            if draws:
                n = num_groups * epochs_per_iter
                group_order = draws[0][consumed_order:consumed_order + n]
                consumed_order += n
                rng = picks
            else:
                rng = np.random.Generator(np.random.Philox(seed=seed + it))
                group_order = np.concatenate([rng.permutation(num_groups) for _i in range(epochs_per_iter)])
            start_index = 0
            dropped = 0
            while start_index < group_order.size:
                start_index, batch, size = sample_batch(rng, group_order, dataset["puzzle_indices"],
                                                        dataset["group_indices"], start_index, global_batch_size)
                if size < global_batch_size:  # drop last
                    dropped = size
                    break
                yield it, batch
            yield it, None, dropped
    if picks and picks.next != len(picks.picks):
        raise SystemExit(f"{len(picks.picks) - picks.next} recorded picks were not used")


def run_train(args):
    data = load_split(args.dataset, "train")
    draws = None
    if args.draws:
        draws = (np.load(os.path.join(args.draws, "group_order.npy")), np.load(os.path.join(args.draws, "picks.npy")))
    t0 = time.perf_counter()
    batch_iteration, offsets, groups, puzzles, rows, row_puzzles = [], [0], [], [], [], []
    per_iteration = [0] * args.iterations
    dropped_rows = [0] * args.iterations
    for item in iter_train(data, args.seed, args.batch, args.epochs_per_iter, args.iterations, draws):
        it = item[0]
        if item[1] is None:
            dropped_rows[it - 1] = item[2]
            continue
        per_iteration[it - 1] += 1
        if args.summary:
            continue
        batch_iteration.append(it)
        for g, p, r in item[1]:
            groups.append(g)
            puzzles.append(p)
            rows.append(r)
            row_puzzles.extend([p] * r)
        offsets.append(len(puzzles))
    seconds = time.perf_counter() - t0
    if args.summary:
        print(json.dumps({"batches_per_iteration": per_iteration, "dropped_rows": dropped_rows, "seconds": seconds}))
        return
    os.makedirs(args.out, exist_ok=True)
    out = {"batch_iteration": batch_iteration, "batch_offsets": offsets, "groups": groups, "puzzles": puzzles,
           "rows": rows, "row_puzzles": row_puzzles, "batches_per_iteration": per_iteration,
           "dropped_rows": dropped_rows}
    for name, values in out.items():
        np.save(os.path.join(args.out, name + ".npy"), np.array(values, dtype=np.int64))


def run_test(args):
    """HRM's _iter_test for every rank, recording each row's puzzle index."""
    data = load_split(args.dataset, "test")
    local_batch_size = args.batch // args.world
    windows, row_puzzles = [], []
    for rank in range(args.world):
        for dataset in data.values():
            total_examples = dataset["num_examples"]
            start_index = 0
            while start_index < total_examples:
                end_index = min(total_examples, start_index + args.batch)
                local_start = start_index + rank * local_batch_size
                local_end = min(start_index + (rank + 1) * local_batch_size, end_index)
                puzzle_index = np.searchsorted(dataset["puzzle_indices"], local_start, side="right") - 1
                for i in range(local_start, local_end):
                    while puzzle_index + 1 < len(dataset["puzzle_indices"]) and i >= dataset["puzzle_indices"][puzzle_index + 1]:
                        puzzle_index += 1
                    row_puzzles.append(int(puzzle_index))
                rows = max(0, local_end - local_start)
                windows.append((rank, start_index, end_index, local_start, local_end, local_batch_size - rows))
                start_index += args.batch
    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "windows.npy"), np.array(windows, dtype=np.int64).reshape(-1, 6))
    np.save(os.path.join(args.out, "row_puzzles.npy"), np.array(row_puzzles, dtype=np.int64))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("dataset")
    tr.add_argument("out")
    tr.add_argument("--batch", type=int, required=True)
    tr.add_argument("--epochs-per-iter", type=int, required=True)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--iterations", type=int, required=True)
    tr.add_argument("--draws")
    tr.add_argument("--summary", action="store_true")
    te = sub.add_parser("test")
    te.add_argument("dataset")
    te.add_argument("out")
    te.add_argument("--batch", type=int, required=True)
    te.add_argument("--world", type=int, default=1)
    args = ap.parse_args()
    (run_train if args.mode == "train" else run_test)(args)


if __name__ == "__main__":
    sys.exit(main())
