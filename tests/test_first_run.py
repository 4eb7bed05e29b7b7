"""The first run on a machine: the embedding model is prepared with a notice on a terminal,
nothing is written outside the home and the cache (no onnxruntime telemetry), and
`mem serve` started by hand says what it waits for and stops quietly on Ctrl-C."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

MEM = [sys.executable, "-m", "zettelmem"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEM_", "XDG_"))}
    env.update(HOME=str(tmp_path / "user"), MEM_HOME=str(tmp_path / "memhome"), **extra)
    if os.environ.get("MEM_CACHE"):
        env["MEM_CACHE"] = os.environ["MEM_CACHE"]
    (tmp_path / "user").mkdir()
    return env


def test_embedding_writes_nothing_outside_the_home_and_the_cache(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for args in (["remember", "the kettle is in the left cupboard"], ["recall", "kettle"]):
        done = subprocess.run([*MEM, *args], env=env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
    cache = Path(env.get("MEM_CACHE") or tmp_path / "user" / ".cache" / "zettelmem")
    stray = [p for p in (tmp_path / "user").rglob("*") if p.is_file()
             and not p.resolve().is_relative_to(cache.resolve())]  # fmt: skip
    assert stray == []


def test_model_preparation_says_what_it_does_on_a_terminal(tmp_path: Path) -> None:
    from zettelmem.backends import embeddings

    lines: list[str] = []
    embeddings.announce_preparation(Path("/x/cache/model.onnx"), lines.append, terminal=True)
    assert lines and "once" in lines[0] and "/x/cache" in lines[0]
    quiet: list[str] = []
    embeddings.announce_preparation(Path("/x/cache/model.onnx"), quiet.append, terminal=False)
    assert quiet == []


def _read_until(fd: int, wanted: str, seconds: float) -> str:
    seen = ""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096).decode("utf-8", "replace")
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_serve_on_a_terminal_says_it_waits_and_ctrl_c_is_quiet(tmp_path: Path) -> None:
    env = _env(tmp_path, MEM_EMBEDDER="hashing")
    parent, child = pty.openpty()
    proc = subprocess.Popen([*MEM, "serve"], stdin=child, stdout=subprocess.PIPE, stderr=child,
                            env=env)  # fmt: skip
    os.close(child)
    try:
        said = _read_until(parent, "Ctrl-C", 120)
        assert "waiting for an MCP client" in said and "mem mcp-config" in said
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        rest = _read_until(parent, "\n", 2)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(parent)
    assert "Error" not in rest and "Traceback" not in rest
    assert proc.stdout is not None and proc.stdout.read() == b""
