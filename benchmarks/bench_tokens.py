"""What scoped tokens cost: recall limited to a token's readable scopes, and the per-request
token lookup, against the owner's unrestricted recall on the same store.

Run: python benchmarks/bench_tokens.py [--sizes 10000,50000] [--queries 50] [--runs 3]

Grows one store (bench_scale's LoCoMo-like turns in 4 user scopes, written straight to
the record, hashing embedder: the costs measured are the store's) and, per size, times
interleaved query by query: recall over every scope (the owner), recall over two of the
four scopes (a token with two readable scopes: `Filters.scopes`), recall of one named
scope, and `access_for` (hash the presented token, look it up, as on every HTTP request).
Prints a Markdown table of medians (p95 too) with the machine and load noted.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import Talk, _pct, fast_grow, machine  # noqa: E402

from zettelmem.memory.core import Memory  # noqa: E402


def times(mem: Memory, talk: Talk, size: int, n: int, token: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    every = mem.filters()
    two = replace(every, scopes=("user0", "user1"))
    one = mem.filters(scope="user1")
    for j in range(n):
        query = talk.query(j, size)
        for key, filters in (("owner", every), ("two scopes", two), ("one scope", one),
                             ("token lookup", None)):  # fmt: skip
            start = time.perf_counter()
            if filters is None:
                mem.access_for(token)
            else:
                mem.recall(query, k=10, filters=filters)
            out.setdefault(key, []).append(1000 * (time.perf_counter() - start))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    talk = Talk()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory(Path(tmp) / "home", embedder="hashing:384", guard="off")
        token = mem.create_token("bench", ["user0:r", "user1:r"])
        stored = 0
        for size in sizes:
            fast_grow(mem, talk, stored, size)
            stored = size
            runs = [times(mem, talk, size, args.queries, token) for _ in range(args.runs)]
            for key in runs[0]:
                p50 = statistics.median(statistics.median(r[key]) for r in runs)
                p95 = statistics.median(_pct(r[key], 95) for r in runs)
                rows.append((size, key, p50, p95))
        mem.close()
    print(f"Machine: {machine()}\n")
    print("| notes | call | p50 ms | p95 ms |\n|---:|---|---:|---:|")
    for size, key, p50, p95 in rows:
        print(f"| {size:,} | {key} | {p50:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()
