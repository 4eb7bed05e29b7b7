"""Guard speed: how long the offline signals take on ordinary notes and on 64 KiB
degenerate texts (the shapes that make a backtracking regex quadratic).

Run: python benchmarks/bench_guard.py [--runs 5]
Prints a Markdown table (median of --runs, the signal cache cleared before each run)
with the machine noted. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from zettelmem.bench.poison import honest_notes
from zettelmem.guard import signals

SIZE = 65536
TEXTS = {
    "one letter (a x 65,536)": "a" * SIZE,
    "one digit": "1" * SIZE,
    "'a ' repeated": "a " * (SIZE // 2),
    "'a.' repeated (65,536 sentences)": "a." * (SIZE // 2),
    "'a@' repeated": "a@" * (SIZE // 2),
    "'a-' repeated": "a-" * (SIZE // 2),
    "'ignore ' repeated (every rule's anchor)": "ignore previous notes; " * (SIZE // 23),
}


def _median_ms(text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        signals.clear_caches()
        started = time.perf_counter()
        signals.signal_risk(text, "cli")
        signals.lesson_for(text, ["instruction aimed at an agent"])
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    notes = honest_notes()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; median of {args.runs} runs\n")  # fmt: skip
    print("| text | characters | signals + lesson quote (ms) |\n|---|---|---|")
    started = time.perf_counter()
    for _ in range(args.runs):
        signals.clear_caches()
        for note in notes:
            signals.signal_risk(note, "cli")
    per_note = (time.perf_counter() - started) / (args.runs * len(notes)) * 1000
    print(f"| an ordinary note (mean of {len(notes)}) | ~40 | {per_note:.3f} |")
    for name, text in TEXTS.items():
        print(f"| {name} | {len(text):,} | {_median_ms(text, args.runs):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
