"""Speed benchmarks: remember throughput, recall latency at 1k/10k notes, CLI cold start.

Run: python benchmarks/bench_speed.py [--embedder minilm] [--runs 3] [--sizes 1000,10000]
Prints markdown tables (median of --runs runs) with the machine noted. Not a test:
nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One BLAS thread, as `mem` and `mem serve` run (see zettelmem.cli.main).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from zettelmem.memory.core import Memory
from zettelmem.models import NewNote

PEOPLE = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas"]
VERBS = [
    "visited",
    "booked",
    "cooked",
    "painted",
    "fixed",
    "read about",
    "argued about",
    "planned",
    "photographed",
    "forgot",
    "recommended",
    "sold",
    "borrowed",
    "learned",
]
THINGS = [
    "a ramen place in Osaka",
    "the old bicycle",
    "a sourdough starter",
    "the garden shed",
    "a jazz record",
    "the quarterly budget",
    "a hiking trail near Zermatt",
    "the new laptop",
    "a pottery wheel",
    "grandma's recipe book",
    "the chess club",
    "a vintage camera",
    "the marathon plan",
    "a Rust compiler bug",
    "the wedding playlist",
    "a kayak",
]
TAILS = [
    "last weekend",
    "after work",
    "with friends",
    "on a rainy Tuesday",
    "for the first time",
    "again, sadly",
    "because the kids asked",
    "and loved it",
    "before the trip",
    "while travelling",
    "to relax",
    "with mixed results",
]


def corpus(n: int, seed: int = 7) -> list[str]:
    """Deterministic, varied, chat-like sentences with a unique marker word each."""
    rng = random.Random(seed)
    return [
        f"{rng.choice(PEOPLE)} {rng.choice(VERBS)} {rng.choice(THINGS)} {rng.choice(TAILS)} "
        f"(ref{i:05d})."
        for i in range(n)
    ]


def queries(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return [f"what did {rng.choice(PEOPLE)} do with {rng.choice(THINGS)}?" for _ in range(n)]


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def bench_single(embedder: str, n: int) -> float:
    with tempfile.TemporaryDirectory() as home, Memory(home=home, embedder=embedder) as mem:
        mem.embedder.embed(["warm up"])
        texts = corpus(n, seed=3)
        started = time.perf_counter()
        for text in texts:
            mem.remember(text)
        return n / (time.perf_counter() - started)


def bench_bulk(embedder: str, n: int) -> float:
    with tempfile.TemporaryDirectory() as home, Memory(home=home, embedder=embedder) as mem:
        mem.embedder.embed(["warm up"])
        notes = [
            NewNote(content=t, scope="bench", source=f"bench#{i}")
            for i, t in enumerate(corpus(n, seed=5))
        ]
        started = time.perf_counter()
        mem.remember_many(notes)
        return n / (time.perf_counter() - started)


def build_home(home: str, embedder: str, size: int) -> None:
    with Memory(home=home, embedder=embedder) as mem:
        notes = [
            NewNote(content=t, scope=f"user{i % 4}", source=f"bench#{i}")
            for i, t in enumerate(corpus(size))
        ]
        mem.remember_many(notes, batch_size=512)


def bench_recall(home: str, embedder: str, n_queries: int, scoped: bool) -> tuple[float, float]:
    with Memory(home=home, embedder=embedder) as mem:
        mem.recall("warm up", k=10)
        filters = mem.filters(scope="user1") if scoped else None
        times = []
        for query in queries(n_queries):
            mem._query_vectors.clear()  # queries repeat here; each is timed as if new
            started = time.perf_counter()
            mem.recall(query, k=10, filters=filters)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), _pct(times, 95)


def bench_cold_start(home: str, embedder: str, runs: int) -> tuple[float, float]:
    env = dict(os.environ, MEM_HOME=home, MEM_EMBEDDER=embedder)
    mem_bin = Path(sys.executable).with_name("mem")
    cmd = [str(mem_bin)] if mem_bin.exists() else [sys.executable, "-m", "zettelmem"]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [*cmd, "recall", "jazz record", "-k", "5"], env=env, check=True, capture_output=True
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times), _pct(times, 95)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {platform.machine()} ({cpu}), {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {machine()}; embedder: {args.embedder}; median of {args.runs} runs\n")

    single = statistics.median(bench_single(args.embedder, 200) for _ in range(args.runs))
    bulk = statistics.median(bench_bulk(args.embedder, 1000) for _ in range(args.runs))
    print("| write path | notes/s |\n|---|---|")
    print(f"| `remember`, one call per note (200 notes) | {single:.0f} |")
    print(f"| bulk import, `remember_many` (1,000 notes) | {bulk:.0f} |\n")

    print(
        "| notes | recall p50 ms | recall p95 ms | scoped p50 ms | scoped p95 ms | "
        "`mem recall` cold start median s | p95 s |"
    )
    print("|---|---|---|---|---|---|---|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as home:
            build_home(home, args.embedder, size)
            runs = [
                bench_recall(home, args.embedder, args.queries, False) for _ in range(args.runs)
            ]
            scoped = [
                bench_recall(home, args.embedder, args.queries, True) for _ in range(args.runs)
            ]
            cold = bench_cold_start(home, args.embedder, max(5, 3 * args.runs))
            p50 = statistics.median(r[0] for r in runs)
            p95 = statistics.median(r[1] for r in runs)
            s50 = statistics.median(r[0] for r in scoped)
            s95 = statistics.median(r[1] for r in scoped)
            print(
                f"| {size:,} | {p50:.1f} | {p95:.1f} | {s50:.1f} | {s95:.1f} | "
                f"{cold[0]:.2f} | {cold[1]:.2f} |"
            )


if __name__ == "__main__":
    main()
