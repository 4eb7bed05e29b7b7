"""Start-up: how long `mem --help`, `--version`, `path` and `config` take against a bare
`python -c pass`, and what the first embedding on a machine costs (preparing the int8
model copy in an empty cache): wall time and peak memory. Median of --runs runs.

    python benchmarks/bench_startup.py [--runs 5] [--first-use-runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

MEM = [sys.executable, "-m", "zettelmem"]
LIGHT = [["--help"], ["--version"], ["path"], ["config"]]


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _first_use(env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one `mem remember` with an empty model cache."""
    with tempfile.TemporaryDirectory() as tmp:
        run_env = {**env, "MEM_CACHE": f"{tmp}/cache", "MEM_HOME": f"{tmp}/home"}
        code = (
            "import resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
            "print(time.perf_counter() - t,"
            " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        )
        out = subprocess.run([sys.executable, "-c", code, *MEM, "remember", "first note"],
                             env=run_env, check=True, capture_output=True, text=True)  # fmt: skip
        seconds, rss_kb = out.stdout.split()
        return float(seconds), int(rss_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--first-use-runs", type=int, default=3)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEM_")}
    with tempfile.TemporaryDirectory() as home:
        env["MEM_HOME"] = home
        rows = [("python -c pass", [sys.executable, "-c", "pass"])]
        rows += [(f"mem {' '.join(a)}", [*MEM, *a]) for a in LIGHT]
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load "
              f"{os.getloadavg()[0]:.1f}, Python {platform.python_version()}")  # fmt: skip
        print("\n| command | median s | min s |")
        print("|---|---|---|")
        for name, command in rows:
            times = [_timed(command, env) for _ in range(args.runs)]
            print(f"| `{name}` | {statistics.median(times):.3f} | {min(times):.3f} |")
    if args.first_use_runs:
        runs = [_first_use(env) for _ in range(args.first_use_runs)]
        print("\n| first `mem remember` (empty model cache) | median s | peak RSS MB |")
        print("|---|---|---|")
        print(f"| prepares the int8 model, then embeds | "
              f"{statistics.median(r[0] for r in runs):.1f} | "
              f"{statistics.median(r[1] for r in runs):.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
