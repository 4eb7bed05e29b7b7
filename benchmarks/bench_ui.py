"""Speed of `mem ui`: the search page against recall itself at 10k notes, and the graph
page of a 2,000-note scope (server answer, then interactive and settled in Chromium).

Run: python benchmarks/bench_ui.py [--embedder hashing] [--notes 10000] [--queries 50]
Prints markdown tables (medians) with the machine noted. Not a test: nothing here
asserts on time. The browser rows need chromium (scripts/ensure-browser).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]

import httpx  # noqa: E402
from bench_speed import corpus, machine, queries  # noqa: E402

from ui_browser import chromium, missing, served  # noqa: E402
from zettelmem.memory.core import Memory  # noqa: E402
from zettelmem.models import NewNote  # noqa: E402

SCOPE_SIZE = 2000


def build(home: Path, embedder: str, size: int) -> None:
    """``size`` notes in scopes of 2,000 (s0, s1, ...), linked as they are written."""
    with Memory(home=home, embedder=embedder, llm=False) as memory:
        notes = [NewNote(content=t, scope=f"s{i // SCOPE_SIZE}", source=f"bench#{i}")
                 for i, t in enumerate(corpus(size))]  # fmt: skip
        memory.remember_many(notes, batch_size=512)


def recall_ms(home: Path, embedder: str, asked: list[str]) -> tuple[float, float]:
    """Median ms of recall alone, and of recall plus lessons (what the page asks)."""
    alone, both = [], []
    with Memory(home=home, embedder=embedder) as memory:
        memory.recall("warm up", k=20)
        for query in asked:
            started = time.perf_counter()
            memory.recall(query, k=20)
            alone.append(time.perf_counter() - started)
            memory._query_vectors.clear()  # the page embeds its query afresh, so must this
            started = time.perf_counter()
            memory.recall(query, k=20)
            memory.lessons(query)
            both.append(time.perf_counter() - started)
    return 1000 * statistics.median(alone), 1000 * statistics.median(both)


def page_ms(base: str, asked: list[str]) -> float:
    with httpx.Client(base_url=base, timeout=60) as client:
        client.get("/ui/", params={"q": "warm up"})
        times = []
        for query in asked:
            started = time.perf_counter()
            answer = client.get("/ui/?" + urlencode({"q": query, "k": 20}))
            times.append(time.perf_counter() - started)
            assert answer.status_code == 200 and "hits for" in answer.text
    return 1000 * statistics.median(times)


def graph_server_ms(base: str, home: Path, embedder: str, scope: str,
                    runs: int) -> tuple[float, float]:  # fmt: skip
    """Median ms of the graph page from the server: after a write (laid out again) and cached."""
    cold, warm = [], []
    with httpx.Client(base_url=base, timeout=120) as client, Memory(home, embedder=embedder) as m:
        for run in range(runs):
            m.remember(f"a fresh note {run} elsewhere", scope="elsewhere")
            started = time.perf_counter()
            client.get("/ui/graph", params={"scope": scope})
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.get("/ui/graph", params={"scope": scope})
            warm.append(time.perf_counter() - started)
    return 1000 * statistics.median(cold), 1000 * statistics.median(warm)


def graph_browser_ms(base: str, scope: str | None, runs: int,
                     touch: Callable[[int], object]) -> dict[str, float]:  # fmt: skip
    """Median ms from navigation to the first drawn, interactive frame and to a settled
    layout, with the per-tick and per-frame costs, in headless Chromium (software GL).
    Each run follows a write (``touch``), so the server lays the graph out again."""
    rows: list[dict[str, float]] = []
    with chromium(1280, 860) as driver:
        for run in range(runs + 1):
            touch(run)
            driver.get(f"{base}/ui/graph" + (f"?scope={scope}" if scope else ""))
            started = time.monotonic()
            while time.monotonic() - started < 120 and not driver.execute_script(
                "return window.memGraph.settled"
            ):
                time.sleep(0.05)
            rows.append(driver.execute_script(
                "var g = window.memGraph; return {interactive: g.interactiveAt, "
                "settled: performance.now(), tick: g.tickMs, draw: g.drawMs, n: g.count}"
            ))  # fmt: skip
    rows = rows[1:]  # the first run warms the browser
    return {key: statistics.median(r[key] for r in rows) for key in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--embedder", default="hashing")
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--home", help="Build the store here once, and reuse it after.")
    args = parser.parse_args()
    print(f"machine: {machine()}; embedder: {args.embedder}; medians\n")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.home or Path(tmp) / "home")
        if not (home / "notes.db").exists():
            started = time.perf_counter()
            build(home, args.embedder, args.notes)
            print(f"built {args.notes:,} notes in {time.perf_counter() - started:.0f} s\n")
        asked = queries(args.queries)
        alone, with_lessons = recall_ms(home, args.embedder, asked)
        with served(home, embedder=args.embedder) as base:
            page = page_ms(base, asked)
            print("| notes | recall ms | recall + lessons ms | search page ms | page - recall ms |")
            print("|---|---|---|---|---|")
            print(f"| {args.notes:,} | {alone:.1f} | {with_lessons:.1f} | {page:.1f} | "
                  f"{page - alone:.1f} |\n")  # fmt: skip
            cold, warm = graph_server_ms(base, home, args.embedder, "s0", args.runs)
            print(
                "| graph of | server, laid out ms | server, cached ms | first frame ms | "
                "settled ms | tick ms | frame ms |"
            )
            print("|---|---|---|---|---|---|---|")
            if missing():
                print(
                    f"| s0 ({SCOPE_SIZE:,} notes) | {cold:.0f} | {warm:.0f} | "
                    f"(no browser: {missing()}) | | | |"
                )
                return
            scopes = (("s0", f"one scope ({SCOPE_SIZE:,} notes)"),
                      (None, f"every scope ({args.notes:,} notes)"))  # fmt: skip
            with Memory(home, embedder=args.embedder) as memory:
                for scope, name in scopes:

                    def touch(run: int, scope: str | None = scope) -> object:
                        return memory.remember(f"before run {run} on {scope}", scope="elsewhere")

                    b = graph_browser_ms(base, scope, args.runs, touch)
                    server = f"{cold:.0f} | {warm:.0f}" if scope else "– | –"
                    print(
                        f"| {name}, {b['n']:,.0f} drawn | {server} | {b['interactive']:.0f} | "
                        f"{b['settled']:.0f} | {b['tick']:.1f} | {b['draw']:.1f} |"
                    )


if __name__ == "__main__":
    main()
