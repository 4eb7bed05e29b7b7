"""The PostgreSQL record against the home's SQLite record: ingest, recall, start-up.

Run: python benchmarks/bench_postgres.py [--size 10000] [--embedder hashing:384]
     [--queries 100] [--singles 50] [--url postgresql://...]

Both stores grow to --size notes by bulk imports (`remember_many`: linking, evolution
and the guard on), then each measures single `remember` calls, unscoped recall p50/p95
over --queries LoCoMo-like questions (bench_scale.py's generator), and the time a fresh
process takes from opening to its first answer: on the database both with this
machine's cached indexes and with none (a new server, which builds them from the
database). Without --url a throwaway PostgreSQL 16 with pgvector is started with
pgserver (the dev extra) in a temporary folder and stopped at the end; with --url
the database must be empty. Prints a Markdown table with the machine and load noted.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench_scale import Talk, _pct, grow, machine, recall_times, singles

from zettelmem.memory.core import Memory

FIRST_ANSWER = """
import sys, time
started = time.perf_counter()
from zettelmem.memory.core import Memory
with Memory(sys.argv[1], embedder=sys.argv[2], store=sys.argv[3], llm=False) as memory:
    memory.recall("what did Caroline say about the lake?", k=10)
print(time.perf_counter() - started)
"""


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """The given URL, or a fresh database on a throwaway local server."""
    if url:
        yield url
        return
    import pgserver
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="zettelmem-bench-pg-"))
    root.chmod(0o755)  # as root, pgserver runs PostgreSQL as its own user
    server = pgserver.get_server(root / "data", cleanup_mode="stop")
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        yield server.get_uri("bench")
    finally:
        from zettelmem.store.pgconn import close_pools

        close_pools()
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def first_answer(home: Path, embedder: str, store: str, runs: int = 3) -> float:
    """Median seconds from a fresh process's start to its first recall."""
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", FIRST_ANSWER, str(home), embedder, store],
                             capture_output=True, text=True, check=True)  # fmt: skip
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def measure(name: str, home: Path, store: str, args: argparse.Namespace) -> list[str]:
    talk = Talk()
    with Memory(home, embedder=args.embedder, store=store, llm=False) as memory:
        if memory.records.count():
            raise SystemExit(f"{name}: the record is not empty; use an empty database")
        bulk, _ = grow(memory, talk, 0, args.size)
        single, _ = singles(memory, talk, args.size, args.singles)
        times = recall_times(memory, talk, args.size + args.singles, args.queries)["recall"]
    warm = first_answer(home, args.embedder, store)
    cold = "-"
    if store:
        fresh = home.parent / f"{home.name}-fresh"
        started = time.perf_counter()
        first_answer(fresh, args.embedder, store, runs=1)
        cold = f"{time.perf_counter() - started:.2f}"
        shutil.rmtree(fresh, ignore_errors=True)
    return [name, f"{bulk:.0f}", f"{single:.1f}", f"{_pct(times, 50):.1f}",
            f"{_pct(times, 95):.1f}", f"{warm:.2f}", cold]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--embedder", default="hashing:384")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--singles", type=int, default=50)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a local one)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="zettelmem-bench-") as tmp, database(args.url) as url:
        rows.append(measure("home (SQLite)", Path(tmp) / "file", "", args))
        rows.append(measure("PostgreSQL", Path(tmp) / "pg", url, args))
    print(f"{args.size} notes, embedder {args.embedder}, {args.queries} recalls; {machine()}\n")
    head = ["record", "bulk notes/s", "single remember/s", "recall p50 ms", "recall p95 ms",
            "first answer s (cached indexes)", "first answer s (no cache)"]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
