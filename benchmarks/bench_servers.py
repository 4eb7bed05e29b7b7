"""One `mem serve --http` against two on one PostgreSQL database, under 8 clients.

Run: python benchmarks/bench_servers.py [--size 5000] [--clients 8] [--seconds 30]
     [--search database|local] [--url postgresql://...] [--runs 3]

Fills an empty database with --size notes (bench_scale.py's generator, written
straight to the record), then starts one server, then two, each a `mem serve --http`
process on its own home. --clients client processes (MCP over streamable HTTP, shared
round-robin between the servers) each call `recall` with LoCoMo-like questions, and
every tenth call `remember`, for --seconds; the table gives calls per second over all
clients, the latency p50/p95, and the two-server/one-server ratio. Median of --runs.
Without --url a throwaway PostgreSQL 16 with pgvector is started with pgserver.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_postgres import database
from bench_scale import Talk, _pct, fast_grow, machine

from zettelmem.memory.core import Memory

# The tests' helper that starts `mem serve --http` and reads the URL it prints.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from served import start_http, stop  # noqa: E402

TOKEN = "bench-servers-token"

CLIENT = """
import json, sys, time, anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
sys.path.insert(0, sys.argv[5])
from bench_scale import Talk

url, token, seconds, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
size = int(sys.argv[6])
talk = Talk()

async def main():
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    times = []
    async with Client(streamable_http_client(url, http_client=http)) as client:
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            started = time.perf_counter()
            if i % 10 == 9:
                note = talk.turn(10_000_000 + seed * 100_000 + i)
                result = await client.call_tool("remember", {"content": note.content,
                                                             "scope": note.scope})
            else:
                question = talk.query(seed * 997 + i, size)
                result = await client.call_tool("recall", {"query": question, "k": 10})
            assert not result.is_error, result.content
            times.append(1000 * (time.perf_counter() - started))
            i += 1
    print(json.dumps(times))

anyio.run(main)
"""


def start(home: Path, url: str, search: str) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "MEM_STORE": url, "MEM_TOKEN": TOKEN, "MEM_SEARCH": search,
           "MEM_EMBEDDER": "hashing:384"}  # fmt: skip
    env.pop("MEM_HOME", None)
    return start_http(home, home.parent / f"{home.name}.log", env)


def load(urls: list[str], clients: int, seconds: float, size: int) -> tuple[float, list[float]]:
    """Run the clients at once; (calls per second over all, every call's latency ms)."""
    here = str(Path(__file__).resolve().parent)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CLIENT,
                urls[i % len(urls)],
                TOKEN,
                str(seconds),
                str(i),
                here,
                str(size),
            ],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        for i in range(clients)
    ]
    times: list[float] = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit("a client failed")
        times += json.loads(out.decode().strip().splitlines()[-1])
    return len(times) / seconds, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--search", choices=("database", "local"), default="database")
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a local one)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="zettelmem-servers-") as tmp, database(args.url) as url:
        os.environ["MEM_SEARCH"] = args.search
        with Memory(Path(tmp) / "filler", embedder="hashing:384", store=url, llm=False) as mem:
            fast_grow(mem, Talk(), 0, args.size)
        rates: dict[int, list[float]] = {}
        lat: dict[int, list[float]] = {}
        for count in (1, 2):
            servers = [start(Path(tmp) / f"s{count}-{i}", url, args.search) for i in range(count)]
            try:
                load([u for _, u in servers], args.clients, 3.0, args.size)  # warm every server up
                for _ in range(args.runs):
                    rate, times = load(
                        [u for _, u in servers], args.clients, args.seconds, args.size
                    )
                    rates.setdefault(count, []).append(rate)
                    lat.setdefault(count, []).extend(times)
            finally:
                for proc, _ in servers:
                    stop(proc)
        for count in (1, 2):
            rows.append([f"{count} server{'s' if count > 1 else ''}",
                         f"{statistics.median(rates[count]):.1f}",
                         f"{_pct(lat[count], 50):.1f}", f"{_pct(lat[count], 95):.1f}"])  # fmt: skip
        ratio = statistics.median(rates[2]) / statistics.median(rates[1])
    print(f"{args.size} notes, {args.clients} clients (recall, every tenth call remember), "
          f"search {args.search}, {args.seconds:.0f} s x {args.runs}; {machine()}\n")  # fmt: skip
    print("| servers | calls/s | p50 ms | p95 ms |\n|---|---|---|---|")
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    print(f"\nthroughput ratio, two servers / one: {ratio:.2f}")


if __name__ == "__main__":
    main()
