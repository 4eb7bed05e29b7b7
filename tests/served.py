"""`mem serve --http` in a subprocess on a free loopback port, for the HTTP tests."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

STARTUP_S = 60


def start_http(
    home: Path, log: Path, env: dict[str, str], stdout: int = subprocess.DEVNULL
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server (its stderr to ``log``) and return it with the URL it prints."""
    with log.open("wb") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zettelmem", "--home", str(home), "serve", "--http",
             "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=errors, env=env,
        )  # fmt: skip
    try:
        return proc, wait_for_url(proc, log)
    except AssertionError:
        stop(proc)
        raise


def wait_for_url(proc: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        found = re.search(r"at (http://\S+/mcp)", log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"mem serve --http did not start:\n{log.read_text(errors='replace')}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
