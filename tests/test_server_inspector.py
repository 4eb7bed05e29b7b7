"""The MCP Inspector's CLI mode (from npm) against `mem serve` over stdio.

It lists the tools (with `--strict`: schema portability problems fail) and
calls `remember` and `recall`. Runs when `npx` is there and the package can be
fetched (or is cached); skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("offline_env")

# A version known to work; MEM_INSPECTOR picks another (e.g. `...inspector@latest`).
INSPECTOR = os.environ.get("MEM_INSPECTOR", "@modelcontextprotocol/inspector@2.12.0")
FETCH_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "E404", "ERR_SOCKET")


@pytest.fixture(scope="module")
def npx() -> str:
    found = shutil.which("npx")
    if found is None:
        pytest.skip("npx is not installed (install Node.js to run the MCP Inspector check)")
    try:
        probe = subprocess.run(
            [found, "-y", INSPECTOR, "--cli", "--help"],
            capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.skip(f"could not fetch {INSPECTOR} from npm within 240 s")
    if probe.returncode != 0:
        reason = next((e for e in FETCH_ERRORS if e in probe.stderr), "")
        pytest.skip(f"could not fetch {INSPECTOR} with npx ({reason or probe.stderr[-300:]})")
    return found


def inspect(npx: str, home: Path, *options: str) -> Any:
    command = [
        npx, "-y", INSPECTOR, "--cli", *options, "-e", "MEM_EMBEDDER=hashing",
        "--", sys.executable, "-m", "zettelmem", "--home", str(home), "serve",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, f"inspector failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
    return json.loads(out.stdout)


@pytest.mark.slow
def test_inspector_lists_tools_and_calls_remember_and_recall(npx: str, home: Path) -> None:
    listed = inspect(npx, home, "--method", "tools/list", "--strict")
    assert {t["name"] for t in listed["tools"]} == {
        "remember", "recall", "forget", "get_note", "reflect", "link", "review"
    }  # fmt: skip

    note = inspect(
        npx, home, "--tool-arg", "content=the inspector stored this note", 'tags=["cli"]',
        "--method", "tools/call", "--tool-name", "remember",
    )  # fmt: skip
    assert note["isError"] is False
    stored = note["structuredContent"]
    assert stored["tags"] == ["cli"] and stored["source"].startswith("mcp:")

    found = inspect(
        npx, home, "--tool-arg", "query=inspector note", "k=3",
        "--method", "tools/call", "--tool-name", "recall",
    )  # fmt: skip
    assert found["isError"] is False
    assert found["structuredContent"]["hits"][0]["id"] == stored["id"]
