"""Scale benchmark: grows one store in slices and prints, per size, what a user pays.

Run: python benchmarks/bench_scale.py [--sizes 10000,100000] [--slice 10000]
     [--embedder hashing:384] [--home DIR] [--queries 100] [--runs 3] [--singles 50]

The store grows by bulk imports of --slice notes (`remember_many`, the import
path: linking, evolution and the guard on) and, at each size in --sizes, the
benchmark measures: single `remember` calls, unscoped and scoped recall with
their floor (query embedding + one tantivy search + one vector search, no
filters, interleaved with the recalls in the same run), a cold `mem recall`
in a fresh process, a cold `mem remember` of one note in a fresh process, and
the home's size on disk. --home keeps the store: run
again with larger sizes and it grows from where it stopped.

The text is LoCoMo-like: conversations between two speakers, in sessions of
turns, each turn a sentence drawn from a vocabulary with Zipfian word
frequencies (so BM25 scores rarely tie, unlike templates), 4 user scopes.
Growing 100k notes with the embedded model takes hours on two cores, so the
default embedder is the hashing one: the costs measured are the store's.
With --fast the store grows by writing notes straight to the record (no
linking, evolution or guard; minutes instead of hours for 100k notes), and
--probe N imports N notes the normal way at each size to measure the import
path there.
Prints Markdown tables (medians of --runs) with the machine and load noted.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

# One BLAS thread, as `mem` and `mem serve` run (see zettelmem.cli.main).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from zettelmem.guard.judge import stored_verdict
from zettelmem.guard.signals import consensus_check
from zettelmem.ids import new_id
from zettelmem.memory.core import Memory
from zettelmem.models import NewNote
from zettelmem.text import STOPWORDS

SCOPES = 4
NAMES = ["Caroline", "Melanie", "Jon", "Gina", "John", "Maria", "Joanna", "Nate", "Tim", "Audrey",
         "Andrew", "James", "Deborah", "Jolene", "Evan", "Sam", "Calvin", "Dave"]  # fmt: skip
FILLERS = ["i", "we", "it", "was", "the", "a", "and", "to", "my", "so", "really", "with", "for",
           "that", "just", "last", "about", "went", "had", "love", "think", "going"]  # fmt: skip
_SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def vocabulary(size: int = 30_000, seed: int = 1) -> list[str]:
    """Distinct pronounceable words of 2-4 syllables."""
    rng = np.random.default_rng(seed)
    words: dict[str, None] = {}
    while len(words) < size:
        parts = rng.integers(0, len(_SYLLABLES), size=int(rng.integers(2, 5)))
        word = "".join(_SYLLABLES[p] for p in parts)
        if word not in STOPWORDS:
            words[word] = None
    return list(words)


class Talk:
    """Deterministic LoCoMo-like turns: note i is the same text whatever the slice size."""

    def __init__(self, seed: int = 7) -> None:
        self.words = vocabulary()
        ranks = np.arange(1, len(self.words) + 1, dtype=np.float64)
        # Zipf-Mandelbrot (s 1.07, offset 30): the most frequent English words are the
        # fillers below, so content words start further down the curve.
        weights = 1.0 / (ranks + 30) ** 1.07
        self.cdf = np.cumsum(weights / weights.sum())
        self.seed = seed

    def turn(self, i: int) -> NewNote:
        """The i-th note: conversation i // 200, session (i % 200) // 20, turn i % 20."""
        rng = np.random.default_rng((self.seed, 0, i))
        conv, session, turn = i // 200, (i % 200) // 20, i % 20
        speaker = NAMES[(conv * 7 + turn % 2 + conv // len(NAMES)) % len(NAMES)]
        count = int(rng.integers(6, 28))
        picks = np.searchsorted(self.cdf, rng.random(count))
        words = [self.words[min(p, len(self.words) - 1)] for p in picks]
        for slot in rng.integers(0, count, size=count // 3):
            words[int(slot)] = FILLERS[int(rng.integers(0, len(FILLERS)))]
        day = 1 + (conv * 3 + session * 5) % 27
        month = 1 + (conv + session) % 12
        return NewNote(
            content=f"{speaker}: {' '.join(words).capitalize()}.",
            scope=f"user{conv % SCOPES}",
            source=f"scale:conv-{conv}/D{session + 1}:{turn + 1}",
            event_at=f"2023-{month:02d}-{day:02d}T{10 + turn // 4:02d}:{turn % 4 * 15:02d}:00",
        )

    def query(self, j: int, size: int) -> str:
        """A question about a stored turn: its speaker and three of its rarer words."""
        rng = np.random.default_rng((self.seed, 1, j))
        note = self.turn(int(rng.integers(0, size)))
        speaker, text = note.content.split(": ", 1)
        words = [w.strip(".").lower() for w in text.split() if w.lower() not in FILLERS]
        picked = sorted(set(words), key=lambda w: (len(w), w))[-3:]
        return f"what did {speaker} say about {' '.join(picked)}?"


@dataclass
class Row:
    size: int
    bulk: tuple[float, float]  # notes/s of the slice that reached this size, CPU ms/note
    single: tuple[float, float]  # notes/s, CPU ms/note
    recall: tuple[float, float, float]  # p50 ms, p95 ms, CPU p50 ms
    scoped: tuple[float, float, float]
    floor: tuple[float, float]  # p50 ms, CPU p50 ms
    cold: tuple[float, float]  # wall s, CPU s
    cold_write: tuple[float, float]  # `mem remember` in a fresh process: wall s, CPU s
    disk_mb: float
    per_note: float  # bytes


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


class Clock:
    """Wall time and this process's CPU time (all threads) since it started, in s.

    The machine is shared: wall time includes waiting for a core, CPU time does not.
    """

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def grow(mem: Memory, talk: Talk, start: int, stop: int) -> tuple[float, float]:
    """Bulk-import notes [start, stop); returns notes/s and CPU ms per note."""
    clock = Clock()
    mem.remember_many((talk.turn(i) for i in range(start, stop)), batch_size=128)
    wall, cpu = clock.lap()
    return (stop - start) / wall, 1000 * cpu / (stop - start)


def fast_grow(mem: Memory, talk: Talk, start: int, stop: int) -> tuple[float, float]:
    """Write notes [start, stop) straight to the record (thread links, no linking or
    evolution), then build the indexes from it: a large store in minutes. Each note gets
    the verdict its own text earns (no related memories), as an import stores one for
    every note: recall reads it instead of scanning the text again."""
    clock = Clock()
    with mem.records.bulk_writes(stop - start):  # a database may build its index at the end
        for first in range(start, stop, 2000):
            notes = [replace(mem.complete(talk.turn(i)), id=new_id())
                     for i in range(first, min(stop, first + 2000))]  # fmt: skip
            judged = [stored_verdict(n.id, consensus_check(n.content, n.source, [], mem.guard_mode))
                      for n in notes] if mem.guard_mode != "off" else []  # fmt: skip
            mem.records.write(notes, mem.embedder.embed([n.content for n in notes]),
                              judged=judged)  # fmt: skip
    mem.indexes.catch_up()
    wall, cpu = clock.lap()
    return (stop - start) / wall, 1000 * cpu / (stop - start)


def singles(mem: Memory, talk: Talk, start: int, count: int) -> tuple[float, float]:
    """`remember` one call per note (each durable before it returns); notes/s, CPU ms/note."""
    clock = Clock()
    for i in range(start, start + count):
        note = talk.turn(i)
        mem.remember(note.content, scope=note.scope, source=note.source, event_at=note.event_at)
    mem.indexes.catch_up()  # the derived indexes catch up within the measured time
    wall, cpu = clock.lap()
    return count / wall, 1000 * cpu / count


def recall_times(mem: Memory, talk: Talk, size: int, n: int) -> dict[str, list[float]]:
    """Unscoped recall, scoped recall and the floor, interleaved query by query (ms);
    each key has a CPU twin (``cpu:<key>``)."""
    out: dict[str, list[float]] = {}
    scoped = mem.filters(scope="user1")

    def timed(key: str, clock: Clock) -> None:
        wall, cpu = clock.lap()
        out.setdefault(key, []).append(1000 * wall)
        out.setdefault("cpu:" + key, []).append(1000 * cpu)

    for j in range(n):
        query = talk.query(j, size)
        mem._query_vectors.clear()  # each run embeds its queries afresh (scoped reuses)
        clock = Clock()
        mem.recall(query, k=10)
        timed("recall", clock)
        clock = Clock()
        mem.recall(query, k=10, filters=scoped)
        timed("scoped", clock)
        clock = Clock()
        vector = mem.embedder.embed([query])[0]
        mem.indexes.text.search(query, mem.filters(), 50)
        mem.indexes.vectors.search(vector, 50)
        timed("floor", clock)
    return out


def cold_start(home: Path, embedder: str, runs: int) -> tuple[float, float]:
    """`mem recall` in a fresh process: median wall s and median CPU s of the child."""
    question = ["recall", "what did Caroline say about the trip", "-k", "5"]
    return in_a_fresh_process(home, embedder, runs, lambda run: question)


def cold_remember(
    home: Path, embedder: str, runs: int, talk: Talk, first: int
) -> tuple[float, float]:
    """`mem remember` of one new note in a fresh process (a shell script's write), in the
    scope of the store's first conversation: median wall s and CPU s of the child."""

    def argv(run: int) -> list[str]:
        note = talk.turn(first + run)
        return ["remember", note.content, "--scope", note.scope]

    return in_a_fresh_process(home, embedder, runs, argv)


def in_a_fresh_process(
    home: Path, embedder: str, runs: int, argv: Callable[[int], list[str]]
) -> tuple[float, float]:
    """A `mem` command in a fresh process, ``runs`` times after one untimed run: median
    wall s and median CPU s of the child."""
    env = dict(os.environ, MEM_HOME=str(home), MEM_EMBEDDER=embedder)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode
    mem_bin = Path(sys.executable).with_name("mem")
    cmd = [str(mem_bin)] if mem_bin.exists() else [sys.executable, "-m", "zettelmem"]
    walls, cpus = [], []
    for run in range(runs + 1):  # the first run, untimed, writes bytecode and warms caches
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run([*cmd, *argv(run)], env=env, check=True, capture_output=True)
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if run:
            walls.append(wall)
            cpus.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def disk(home: Path) -> float:
    return sum(p.stat().st_size for p in home.rglob("*") if p.is_file()) / 1e6


def _load_graph(mem: Memory) -> None:
    """Warm up as a server does: a loaded store answers its first vector search from the
    saved file and loads the HNSW graph on the second (a one-time start-up cost, which the
    cold-start column measures, kept out of the per-note and per-query columns)."""
    mem.recall("warm up", k=10)
    mem.recall("warm up again", k=10)


def measure(
    home: Path, args: argparse.Namespace, talk: Talk, size: int, bulk: tuple[float, float]
) -> Row:
    # Notes written by measurements come from their own ranges of the talk, a new range
    # on each re-run over a kept --home (the same notes again would only be deduplicated).
    counter = home / "bench_scale.measured"
    run = int(counter.read_text()) + 1 if counter.is_file() else 0
    counter.write_text(str(run))
    fresh = size + 10**7 * run
    if args.probe:  # the import path's rate at this size, on a slice of --probe notes
        with Memory(home=home, embedder=args.embedder, llm=False) as mem:
            _load_graph(mem)
            bulk = grow(mem, talk, 5 * 10**8 + fresh, 5 * 10**8 + fresh + args.probe)
    runs = []
    with Memory(home=home, embedder=args.embedder, llm=False) as mem:
        _load_graph(mem)
        for _ in range(args.runs):
            runs.append(recall_times(mem, talk, size, args.queries))

    def med(key: str, pct: float = 50) -> float:
        return statistics.median(_pct(r[key], pct) for r in runs)

    cold = cold_start(home, args.embedder, 3)
    cold_write = cold_remember(home, args.embedder, 3, talk, 2 * 10**9 + fresh)
    mb = disk(home)
    # Single writes go after the reads: they add notes past `size` (at the end of the ids).
    with Memory(home=home, embedder=args.embedder, llm=False) as mem:
        _load_graph(mem)
        notes = mem.records.count()  # the size plus what earlier measurements wrote
        single = singles(mem, talk, 10**9 + fresh, args.singles)
    return Row(
        size, bulk, single,
        (med("recall"), med("recall", 95), med("cpu:recall")),
        (med("scoped"), med("scoped", 95), med("cpu:scoped")),
        (med("floor"), med("cpu:floor")), cold, cold_write, mb, mb * 1e6 / notes,
    )  # fmt: skip


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.system()} {platform.machine()} ({cpu}), {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, load average {load}")  # fmt: skip


def slices(stored: int, sizes: list[int], step: int) -> Iterator[tuple[int, int, bool]]:
    """(start, stop, measure here) for the growth from `stored` to the last size."""
    at = stored
    for size in sizes:
        while at < size:
            stop = min(size, at + step)
            yield at, stop, stop == size
            at = stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--slice", type=int, default=10_000)
    parser.add_argument("--embedder", default="hashing:384")
    parser.add_argument("--home", default=None, help="keep the store here (grows on re-runs)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--singles", type=int, default=50)
    parser.add_argument(
        "--fast", action="store_true", help="grow by writing straight to the record (no linking)"
    )
    parser.add_argument("--probe", type=int, default=0,
                        help="at each size, import this many notes the normal way first "
                        "and report their rate as the bulk rate")  # fmt: skip
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    temp = None if args.home else tempfile.mkdtemp(prefix="mem-scale-")
    home = Path(args.home or temp or "")
    talk = Talk()
    print(f"machine: {machine()}; embedder: {args.embedder}; "
          f"{args.queries} queries x median of {args.runs} runs\n", flush=True)  # fmt: skip
    print("| notes | bulk import notes/s (slice) | ms/note | CPU ms/note |", flush=True)
    print("|---|---|---|---|", flush=True)
    rows = []
    try:
        grown = home / "bench_scale.grown"  # notes the bulk slices stored so far
        stored = int(grown.read_text()) if grown.is_file() else 0
        for start, stop, here in slices(stored, sizes, args.slice):
            with Memory(home=home, embedder=args.embedder, llm=False) as mem:
                rate = (fast_grow if args.fast else grow)(mem, talk, start, stop)
            grown.write_text(str(stop))
            print(f"| {stop:,} | {rate[0]:.0f} | {1000 / rate[0]:.2f} | {rate[1]:.2f} |",
                  flush=True)  # fmt: skip
            if here:
                rows.append(measure(home, args, talk, stop, rate))
        for size in sizes:
            if size <= stored and not any(r.size == size for r in rows):
                rows.append(measure(home, args, talk, size, (float("nan"),) * 2))
        _table(rows)
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)


def _table(rows: list[Row]) -> None:
    print("\n| notes | bulk notes/s | single `remember`/s | recall p50/p95 ms | "
          "scoped recall p50/p95 ms | floor p50 ms | recall/floor | `mem recall` cold s | "
          "`mem remember` cold s | disk MB | disk KB/note |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = max(r.recall[0], r.scoped[0]) / r.floor[0]
        print(f"| {r.size:,} | {r.bulk[0]:.0f} | {r.single[0]:.1f} | {r.recall[0]:.1f} / "
              f"{r.recall[1]:.1f} | {r.scoped[0]:.1f} / {r.scoped[1]:.1f} | {r.floor[0]:.1f} | "
              f"{ratio:.1f} | {r.cold[0]:.2f} | {r.cold_write[0]:.2f} | {r.disk_mb:.0f} | "
              f"{r.per_note / 1000:.1f} |")  # fmt: skip
    print("\nCPU time of this process (what the work costs, whatever the machine's load):\n")
    print("| notes | bulk CPU ms/note | single `remember` CPU ms | recall CPU p50 ms | "
          "scoped recall CPU p50 ms | floor CPU p50 ms | recall/floor (CPU) | "
          "`mem recall` cold CPU s | `mem remember` cold CPU s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = max(r.recall[2], r.scoped[2]) / r.floor[1]
        print(f"| {r.size:,} | {r.bulk[1]:.2f} | {r.single[1]:.1f} | {r.recall[2]:.1f} | "
              f"{r.scoped[2]:.1f} | {r.floor[1]:.1f} | {ratio:.1f} | "
              f"{r.cold[1]:.2f} | {r.cold_write[1]:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
