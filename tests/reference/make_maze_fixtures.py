"""Writes tests/fixtures/maze/{train,test}.csv: small mazes in the format of HRM's
sapientinc/maze-30x30-hard-1k (header source,question,answer,rating; '#' wall, ' ' open, 'S' start,
'G' goal, 'o' the shortest path in the answer), made here because the real data cannot be shipped.

Mazes are carved by a seeded depth-first search on an 11x11 grid (cells at odd coordinates), with
a few extra walls knocked out so that some mazes have loops; the answer marks one shortest S->G
path found by breadth-first search. rating = path length. Run from anywhere:
    /usr/bin/python3 tests/reference/make_maze_fixtures.py
"""
import collections
import csv
import os
import random

SIDE = 11


def carve(rng):
    g = [["#"] * SIDE for _ in range(SIDE)]
    stack = [(1, 1)]
    g[1][1] = " "
    while stack:
        r, c = stack[-1]
        nexts = [(r + dr, c + dc, dr, dc) for dr, dc in ((2, 0), (-2, 0), (0, 2), (0, -2))
                 if 0 < r + dr < SIDE - 1 and 0 < c + dc < SIDE - 1 and g[r + dr][c + dc] == "#"]
        if not nexts:
            stack.pop()
            continue
        nr, nc, dr, dc = rng.choice(nexts)
        g[r + dr // 2][c + dc // 2] = " "
        g[nr][nc] = " "
        stack.append((nr, nc))
    for _ in range(3):  # loops, so the shortest path is not the only path
        r, c = rng.randrange(1, SIDE - 1), rng.randrange(1, SIDE - 1)
        if (r + c) % 2 == 1:
            g[r][c] = " "
    return g


def shortest_path(g, start, goal):
    prev = {start: None}
    queue = collections.deque([start])
    while queue:
        cur = queue.popleft()
        if cur == goal:
            break
        r, c = cur
        for nxt in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if g[nxt[0]][nxt[1]] != "#" and nxt not in prev:
                prev[nxt] = cur
                queue.append(nxt)
    path, cur = [], goal
    while cur is not None:
        path.append(cur)
        cur = prev[cur]
    return path[::-1]


def make(rng):
    g = carve(rng)
    open_cells = [(r, c) for r in range(SIDE) for c in range(SIDE) if g[r][c] == " "]
    start, goal = rng.sample(open_cells, 2)
    g[start[0]][start[1]], g[goal[0]][goal[1]] = "S", "G"
    question = "".join("".join(row) for row in g)
    path = shortest_path(g, start, goal)
    for r, c in path[1:-1]:
        g[r][c] = "o"
    return question, "".join("".join(row) for row in g), len(path) - 1


def write(path, rng, count):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["source", "question", "answer", "rating"])
        for _ in range(count):
            q, a, rating = make(rng)
            w.writerow(["hrmkit-fixture", q, a, rating])


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "maze")
    rng = random.Random(20250701)
    write(os.path.join(out, "train.csv"), rng, 12)
    write(os.path.join(out, "test.csv"), rng, 5)
