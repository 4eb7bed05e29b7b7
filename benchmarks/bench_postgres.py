"""The PostgreSQL record against the home's SQLite record: ingest, recall, start-up.

Run: python benchmarks/bench_postgres.py [--size 10000] [--embedder hashing:384]
     [--queries 100] [--singles 50] [--url postgresql://...] [--fast] [--only pg]
     [--no-local]

Each store grows to --size notes by bulk imports (`remember_many`: linking, evolution
and the guard on; with --fast, written straight to the record with thread links but
no linking, evolution or guard, to reach 100k-1M notes in minutes), then measures
single `remember` calls, unscoped recall p50/p95 over --queries LoCoMo-like questions
(bench_scale.py's generator), and the time a fresh process takes from opening to its
first answer. The database is measured twice: searched inside the database
(`search database`: nothing on the machine, so a new server's first answer is its
usual one) and through this machine's cached indexes (`search local`: first answers
with the cache and, for a new machine, after building it from the database;
--no-local skips this side, which at 1M notes takes an hour). Without --url a
throwaway PostgreSQL 16 with pgvector is started with pgserver (the dev extra) in a
temporary folder (maintenance_work_mem 2 GB, so that the vector index a --fast fill
builds at its end is built in memory) and stopped at the end; with --url the database
must be empty.
Prints a Markdown table with the machine and load noted. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench_scale import Talk, _pct, fast_grow, grow, machine, recall_times, singles

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
            # room to build the HNSW graph in memory after a bulk fill (README: moving a
            # large home in); every other setting stays PostgreSQL's default
            conn.execute("ALTER DATABASE bench SET maintenance_work_mem = '2GB'")
        yield server.get_uri("bench")
    finally:
        from zettelmem.store.pgconn import close_pools

        close_pools()
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def first_answer(
    home: Path, embedder: str, store: str, runs: int = 3, search: str = "local"
) -> float:
    """Median seconds from a fresh process's start to its first recall."""
    times = []
    env = {**os.environ, "MEM_SEARCH": search}
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", FIRST_ANSWER, str(home), embedder, store],
                             capture_output=True, text=True, check=True, env=env)  # fmt: skip
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def _opened(home: Path, store: str, args: argparse.Namespace, search: str) -> Memory:
    os.environ["MEM_SEARCH"] = search
    try:
        return Memory(home, embedder=args.embedder, store=store, llm=False)
    finally:
        del os.environ["MEM_SEARCH"]


def fill(home: Path, store: str, args: argparse.Namespace, search: str) -> tuple[float, float]:
    """Grow an empty record to --size notes and add --singles; (bulk/s, single/s)."""
    talk = Talk()
    with _opened(home, store, args, search) as memory:
        if memory.records.count():
            raise SystemExit(f"{store or home}: the record is not empty; use an empty database")
        bulk, _ = (fast_grow if args.fast else grow)(memory, talk, 0, args.size)
        single, _ = singles(memory, talk, args.size, args.singles)
    return bulk, single


def recalls(home: Path, store: str, args: argparse.Namespace, search: str) -> list[float]:
    with _opened(home, store, args, search) as memory:
        memory.recall("warm up", k=10)
        return recall_times(memory, Talk(), args.size + args.singles, args.queries)["recall"]


def row(name: str, rates: tuple[float, float] | None, times: list[float],
        warm: str, cold: str) -> list[str]:  # fmt: skip
    bulk, single = (f"{rates[0]:.0f}", f"{rates[1]:.1f}") if rates else ("", "")
    return [name, bulk, single, f"{_pct(times, 50):.1f}", f"{_pct(times, 95):.1f}", warm, cold]


def measure_home(home: Path, args: argparse.Namespace) -> list[list[str]]:
    rates = fill(home, "", args, "local")
    times = recalls(home, "", args, "local")
    return [row("home (SQLite)", rates, times, f"{first_answer(home, args.embedder, ''):.2f}",
                "-")]  # fmt: skip


def measure_database(home: Path, url: str, args: argparse.Namespace) -> list[list[str]]:
    rates = fill(home, url, args, "database")
    times = recalls(home, url, args, "database")
    fresh = home.parent / f"{home.name}-new"
    start = first_answer(fresh, args.embedder, url, search="database")
    rows = [row("PostgreSQL, search in the database", rates, times, "-", f"{start:.2f}")]
    if not args.no_local:
        started = time.perf_counter()
        first_answer(fresh, args.embedder, url, runs=1, search="local")  # builds the cache
        cold = f"{time.perf_counter() - started:.2f}"
        times = recalls(fresh, url, args, "local")
        warm = f"{first_answer(fresh, args.embedder, url):.2f}"
        rows.append(row("PostgreSQL, this machine's indexes", None, times, warm, cold))
    shutil.rmtree(fresh, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--embedder", default="hashing:384")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--singles", type=int, default=50)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a local one)")
    parser.add_argument("--fast", action="store_true", help="fill without linking or guard")
    parser.add_argument("--only", choices=("home", "pg"), help="measure one store only")
    parser.add_argument("--no-local", action="store_true",
                        help="skip the database through this machine's indexes")  # fmt: skip
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="zettelmem-bench-") as tmp, database(args.url) as url:
        if args.only != "pg":
            rows += measure_home(Path(tmp) / "file", args)
        if args.only != "home":
            rows += measure_database(Path(tmp) / "pg", url, args)
    fill_how = "written straight to the record (--fast)" if args.fast else "bulk imports"
    print(f"{args.size} notes ({fill_how}), embedder {args.embedder}, {args.queries} recalls; "
          f"{machine()}\n")  # fmt: skip
    head = ["record", "bulk notes/s", "single remember/s", "recall p50 ms", "recall p95 ms",
            "first answer of a new process, s: cached indexes", "new machine"]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
