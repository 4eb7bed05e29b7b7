"""Import benchmark: messages/s and peak memory for a ChatGPT export, offline mode.

Run: python benchmarks/bench_import.py [--messages 2000] [--big-mb 200] [--runs 3]

1. Imports a generated ChatGPT `conversations.json` of --messages messages into a
   fresh home (offline: embedded model, no LLM; linking, evolution and the guard on)
   in a child process per run, and reports messages/s and the child's peak RSS.
2. Streams a generated export of about --big-mb MB with --dry-run (parse, redact,
   validate, look up duplicates; nothing embedded or written) and reports MB/s and
   peak RSS, which stays flat whatever the file size: the file is never loaded whole.
Prints Markdown tables (median of --runs) with the machine noted. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOPICS = ["sourdough starter", "the Lisbon trip", "a flaky integration test", "marathon training",
          "the garden shed", "quarterly budget", "a jazz record", "moving apartments",
          "the new laptop", "pottery class"]  # fmt: skip


def write_export(path: Path, messages: int, per_conversation: int = 20, pad: int = 0) -> int:
    """A ChatGPT-shaped export written conversation by conversation; returns messages."""
    rng = random.Random(7)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        c = 0
        while written < messages:
            mapping: dict[str, object] = {
                "root": {"id": "root", "message": None, "parent": None, "children": ["m0"]}
            }
            n = min(per_conversation, messages - written)
            for t in range(n):
                topic = rng.choice(TOPICS)
                detail = rng.randint(0, 10**6)
                text = f"About {topic}: message {t} of chat {c}, with detail {detail}"
                text += " and more words" * pad
                mapping[f"m{t}"] = {
                    "id": f"m{t}",
                    "parent": "root" if t == 0 else f"m{t - 1}",
                    "children": [] if t == n - 1 else [f"m{t + 1}"],
                    "message": {"id": f"m{t}", "author": {"role": "user" if t % 2 == 0 else
                                                                  "assistant"},
                                "create_time": 1_700_000_000 + c * 3_600 + t * 30,
                                "content": {"content_type": "text", "parts": [text]}},
                }  # fmt: skip
            record = {"id": f"c{c}", "title": f"Chat {c}", "create_time": 1_700_000_000.0,
                      "mapping": mapping, "current_node": f"m{n - 1}"}  # fmt: skip
            out.write(("," if c else "") + json.dumps(record))
            written += n
            c += 1
        out.write("]")
    return written


def child(home: str, path: str, dry_run: bool) -> None:
    from zettelmem.memory.core import Memory
    from zettelmem.transfer.pipeline import run_import

    started = time.perf_counter()
    with Memory(home=home, llm=False) as memory:
        report = run_import(memory, Path(path), dry_run=dry_run)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"read": report.read, "added": report.added, "s": elapsed,
                      "peak_mb": peak_mb}))  # fmt: skip


def run_child(path: Path, dry_run: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="mem-bench-import-") as home:
        args = [sys.executable, __file__, "--child", home, str(path)]
        out = subprocess.run(args + (["--dry-run"] if dry_run else []), check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.dry_run)
        return
    print(f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
          f"{platform.python_version()}\n")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="mem-bench-export-") as tmp:
        small = Path(tmp) / "conversations.json"
        count = write_export(small, args.messages)
        runs = [run_child(small, dry_run=False) for _ in range(args.runs)]
        rate = statistics.median(r["read"] / r["s"] for r in runs)
        peak = statistics.median(r["peak_mb"] for r in runs)
        print("| import (offline; linking, evolution, guard) | messages | messages/s | peak MB |")
        print("|---|---|---|---|")
        print(f"| ChatGPT export, {small.stat().st_size / 1e6:.1f} MB | {count} | {rate:.0f} | "
              f"{peak:.0f} |")  # fmt: skip
        small.unlink()
        print()
        print("| streaming parse (--dry-run) | file MB | messages | MB/s | peak RSS MB |")
        print("|---|---|---|---|---|")
        for mb in sorted({max(args.big_mb // 10, 1), args.big_mb}):
            big = Path(tmp) / f"big-{mb}.json"
            msgs = write_export(big, messages=mb * 1_000_000 // 2_200, pad=90)
            size = big.stat().st_size / 1e6
            runs = [run_child(big, dry_run=True) for _ in range(args.runs)]
            speed = statistics.median(size / r["s"] for r in runs)
            peak = statistics.median(r["peak_mb"] for r in runs)
            print(f"| ChatGPT export | {size:.0f} | {msgs} | {speed:.1f} | {peak:.0f} |")
            big.unlink()


if __name__ == "__main__":
    main()
