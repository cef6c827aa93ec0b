#!/usr/bin/env python3
"""arc_vote.py: HRM's ARC scoring (arc_eval.ipynb's test(), sapientinc/HRM @ 42410da) in NumPy, as the
oracle of tests/test_arc_vote.cpp (trainer/loop/arc_vote.cpp).

The notebook's crop, inverse_aug, grid_hash and voting are transcribed line for line; dataset/
common.py's dihedral_transform likewise. What differs, and why:
  - rows come from .npy files instead of torch.load'ed step_N_all_preds.* and argmax is already
    taken (the C++ scorer receives argmax tokens too);
  - sigmoid is NumPy float32 (torch's q_halt_logits.sigmoid() is float32), widened to a Python float
    as q.item() does;
  - grids are int64 before hashing (HRM-SPEC 11.3 item 2: the byte hash compares values only then),
    and the (bytes, shape) tuple itself is the dict key instead of its hash(), so no collision;
  - besides the notebook's pass@K percentages, each query's rank of the true output among the
    sorted candidates and its two best candidates (from the same sorted p_map: the pass@2
    attempts) are reported, to compare query by query.

usage: arc_vote.py IDENTIFIERS_JSON ROWS_DIR > result.json
ROWS_DIR holds puzzle_identifiers.npy (N,) int32, inputs.npy, labels.npy, preds.npy (N, 900) int32
and q_halt.npy (N,) float32.
"""
import json
import os
import sys

import numpy as np

PAD_PUZZLE_IDENTIFIER = 0
DIHEDRAL_INVERSE = [0, 3, 2, 1, 4, 5, 6, 7]
KS = [1, 2, 10, 100, 1000]


def dihedral_transform(arr, tid):
    if tid == 0:
        return arr
    elif tid == 1:
        return np.rot90(arr, k=1)
    elif tid == 2:
        return np.rot90(arr, k=2)
    elif tid == 3:
        return np.rot90(arr, k=3)
    elif tid == 4:
        return np.fliplr(arr)
    elif tid == 5:
        return np.flipud(arr)
    elif tid == 6:
        return arr.T
    elif tid == 7:
        return np.fliplr(np.rot90(arr, k=1))
    else:
        return arr


def inverse_dihedral_transform(arr, tid):
    return dihedral_transform(arr, DIHEDRAL_INVERSE[tid])


def inverse_aug(name, grid):
    if "_" not in name:
        return grid

    trans_id, perm = name.split("_")[-2:]
    trans_id = int(trans_id[1:])  # Remove "t" letter
    inv_perm = np.argsort(list(perm))

    return inv_perm[inverse_dihedral_transform(grid, trans_id)]


def grid_hash(grid):
    grid = np.ascontiguousarray(grid, dtype=np.int64)
    return (grid.tobytes(), grid.shape)


def crop(grid):
    # Find maximum-sized rectangle without any EOS token inside.
    grid = grid.reshape(30, 30).astype(np.int64)

    max_area = 0
    max_size = (0, 0)
    nr, nc = grid.shape

    num_c = nc
    for num_r in range(1, nr + 1):
        # Scan for maximum c
        for c in range(1, num_c + 1):
            x = grid[num_r - 1, c - 1]
            if (x < 2) | (x > 11):
                num_c = c - 1
                break

        area = num_r * num_c
        if area > max_area:
            max_area = area
            max_size = (num_r, num_c)

    return grid[:max_size[0], :max_size[1]] - 2


def load(identifiers_path, rows_dir):
    with open(identifiers_path, "r") as f:
        identifier_map = json.load(f)
    all_preds = {k: np.load(os.path.join(rows_dir, k + ".npy"))
                 for k in ["puzzle_identifiers", "inputs", "labels", "preds", "q_halt"]}
    mask = all_preds["puzzle_identifiers"] != PAD_PUZZLE_IDENTIFIER
    all_preds = {k: v[mask] for k, v in all_preds.items()}
    return identifier_map, all_preds


def sigmoid_f32(x):
    x = np.float32(x)
    return (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)


def test(identifier_map, all_preds, Ks=KS):
    # Get puzzles and corresponding answers
    puzzle_labels = {}
    for identifier, input, label in zip(all_preds["puzzle_identifiers"], all_preds["inputs"], all_preds["labels"]):
        name = identifier_map[identifier]
        if "_" not in name:   # Not-augmented
            puzzle_labels.setdefault(name, {})

            input = crop(input)
            label = crop(label)

            input_hash = grid_hash(input)
            label_hash = grid_hash(label)

            assert input_hash not in puzzle_labels[name]
            puzzle_labels[name][input_hash] = label_hash

    # Collate
    pred_answers = {}
    for identifier, input, pred, q in zip(all_preds["puzzle_identifiers"], all_preds["inputs"], all_preds["preds"],
                                          sigmoid_f32(all_preds["q_halt"])):
        name = identifier_map[identifier]
        orig_name = name.split("_")[0]

        input_hash = grid_hash(inverse_aug(name, crop(input)))
        assert input_hash in puzzle_labels[orig_name]

        pred = inverse_aug(name, crop(pred))
        pred_hash = grid_hash(pred)

        pred_answers.setdefault(orig_name, {})
        pred_answers[orig_name].setdefault(input_hash, [])
        pred_answers[orig_name][input_hash].append((pred_hash, q.item()))

    correct = [0 for _ in range(len(Ks))]
    task_results = []
    for name, tests in puzzle_labels.items():
        num_test_correct = [0 for _ in range(len(Ks))]
        queries = []
        for input_hash, label_hash in tests.items():
            p = pred_answers[name][input_hash]
            p_map = {}

            for h, q in p:
                p_map.setdefault(h, [0, 0])
                p_map[h][0] += 1
                p_map[h][1] += q

            for h, stats in p_map.items():
                stats[1] /= stats[0]

            p_map = sorted(p_map.items(), key=lambda kv: kv[1], reverse=True)

            for i, k in enumerate(Ks):
                ok = False
                for h, stats in p_map[:k]:
                    ok |= h == label_hash

                num_test_correct[i] += ok

            rank = 0
            for r, (h, stats) in enumerate(p_map):
                if h == label_hash:
                    rank = r + 1
            top = [{"shape": list(h[1]), "cells": np.frombuffer(h[0], dtype=np.int64).tolist(),
                    "votes": stats[0], "mean_q": stats[1]} for h, stats in p_map[:2]]
            queries.append({"votes": len(p), "candidates": len(p_map), "correct_rank": rank, "top": top})

        solved = [num_test_correct[i] == len(tests) for i in range(len(Ks))]
        for i in range(len(Ks)):
            correct[i] += solved[i]
        task_results.append({"name": name, "queries": queries, "solved": solved})

    return {
        "tasks": len(puzzle_labels),
        "rows": int(len(all_preds["puzzle_identifiers"])),
        "percent": {str(k): correct[i] / len(puzzle_labels) * 100 for i, k in enumerate(Ks)},
        "task_results": task_results,
    }


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    identifier_map, all_preds = load(sys.argv[1], sys.argv[2])
    json.dump(test(identifier_map, all_preds), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
