"""MCP round trip: the median `recall` over stdio against a `mem serve` subprocess.

Run: python benchmarks/bench_mcp.py [--sizes 10000] [--queries 200] [--embedder minilm]
     [--keep DIR]
Builds a temporary home per size (bulk import of synthetic chat-like notes),
then times the same queries three ways: the core alone (`Memory.recall`), the
SDK's in-memory client against `build_server`, and the SDK's stdio client
against `python -m zettelmem serve` (a real process and pipe). Prints a
markdown table. Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable

import anyio
from bench_speed import build_home, queries
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from zettelmem.memory.core import Memory
from zettelmem.server.mcp import build_server

Call = Callable[[str], Awaitable[object]]


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def _time(call: Call, texts: list[str]) -> list[float]:
    for i in range(10):  # warm up: the int8 model, the index files (not these queries:
        await call(f"warm up {i}")  # a memory keeps recent query vectors)
    times = []
    for text in texts:
        started = time.perf_counter()
        await call(text)
        times.append((time.perf_counter() - started) * 1000)
    return times


def bench_core(home: str, embedder: str, texts: list[str]) -> list[float]:
    with Memory(home=home, embedder=embedder) as memory:

        async def call(text: str) -> object:
            return memory.recall(text, k=10).hits

        return anyio.run(_time, call, texts)


def bench_client(client: Client, texts: list[str]) -> list[float]:
    async def main() -> list[float]:
        async with client:

            async def call(text: str) -> object:
                result = await client.call_tool("recall", {"query": text, "k": 10})
                assert not result.is_error, result.content
                return result

            return await _time(call, texts)

    return anyio.run(main)


def bench_size(
    size: int, embedder: str, n_queries: int, keep: str | None
) -> dict[str, list[float]]:
    texts = queries(n_queries)
    with tempfile.TemporaryDirectory() as scratch:
        home = os.path.join(keep, f"n{size}-{embedder}") if keep else scratch
        if not os.path.exists(os.path.join(home, "notes.db")):
            started = time.perf_counter()
            build_home(home, embedder, size)
            print(f"built {size} notes in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        core = bench_core(home, embedder, texts)
        server = build_server(lambda: Memory(home=home, embedder=embedder))
        try:
            in_memory = bench_client(Client(server), texts)
        finally:
            server.close()
        stdio = StdioServerParameters(
            command=sys.executable,
            args=["-m", "zettelmem", "--home", home, "serve"],
            env={"MEM_EMBEDDER": embedder, **_passthrough()},
        )
        return {
            "core": core,
            "in-memory": in_memory,
            "stdio": bench_client(Client(stdio), texts),
        }


def _passthrough() -> dict[str, str]:
    return {key: os.environ[key] for key in ("MEM_CACHE",) if key in os.environ}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", help="Build each home in this folder once and reuse it.")
    args = parser.parse_args()
    print(
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; embedder {args.embedder}; "
        f"{args.queries} queries, k=10\n"
    )
    print("| notes | core p50 ms | in-memory MCP p50 ms | stdio p50 ms | stdio p95 ms |")
    print("|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        runs = bench_size(size, args.embedder, args.queries, args.keep)
        p50 = {name: statistics.median(times) for name, times in runs.items()}
        print(
            f"| {size:,} | {p50['core']:.1f} | {p50['in-memory']:.1f} | {p50['stdio']:.1f} "
            f"| {_pct(runs['stdio'], 95):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
