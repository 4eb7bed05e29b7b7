"""Shared fixtures: an offline environment, a home in tmp_path, a CLI driver, LoCoMo files.

Nothing here is autouse: a test module opts in (``pytestmark =
pytest.mark.usefixtures("offline_env")``) so tests that want the default
embedder keep it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from zettelmem.cli.main import cli

LocomoTurn = tuple[str, str, str | None]  # (speaker, text, blip_caption or None)
LocomoSessions = Sequence[tuple[str, Sequence[LocomoTurn]]]  # (session date text, turns)


@pytest.fixture
def offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hashing embedder (no model file, no network) and no inherited MEM_HOME."""
    monkeypatch.setenv("MEM_EMBEDDER", "hashing")
    monkeypatch.delenv("MEM_HOME", raising=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


class MemCli:
    """Drives the real `mem` click group in-process against one home."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | bytes | None = None) -> Result:
        return self.runner.invoke(
            cli, ["--home", str(self.home), *args], input=input, catch_exceptions=False
        )

    def ok(self, *args: str, input: str | bytes | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, (
            f"mem {' '.join(args)} exited {result.exit_code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        return result

    def json(self, *args: str, input: str | bytes | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", input=input).stdout)

    def remember(self, text: str, *options: str) -> str:
        """Store a note and return its id."""
        return str(self.json("remember", text, *options)["id"])

    def state(self) -> tuple[int, int, list[str]]:
        """(notes, ops_head, every id): what a failed command must leave unchanged."""
        stats = self.json("stats")
        ids = [n["id"] for n in self.json("list", "--limit", "100000")["notes"]]
        return int(stats["notes"]), int(stats["ops_head"]), ids

    def top_id(self, query: str, *options: str) -> str | None:
        hits = self.json("recall", query, *options)["hits"]
        return str(hits[0]["id"]) if hits else None


@pytest.fixture
def mem(home: Path, offline_env: None) -> MemCli:
    return MemCli(home)


def _locomo_record(sample_id: str, sessions: LocomoSessions) -> dict[str, Any]:
    """One LoCoMo record: sessions of (date text, turns), dia_ids D<session>:<turn>."""
    conversation: dict[str, Any] = {"speaker_a": "Caroline", "speaker_b": "Melanie"}
    for number, (date, turns) in enumerate(sessions, 1):
        conversation[f"session_{number}_date_time"] = date
        rows = []
        for index, (speaker, text, caption) in enumerate(turns, 1):
            row: dict[str, Any] = {"speaker": speaker, "dia_id": f"D{number}:{index}", "text": text}
            if caption:
                row["img_url"] = ["https://example.invalid/photo.jpg"]
                row["blip_caption"] = caption
            rows.append(row)
        conversation[f"session_{number}"] = rows
    return {"sample_id": sample_id, "conversation": conversation, "qa": []}


@pytest.fixture
def write_locomo(tmp_path: Path) -> Callable[..., Path]:
    """Writes a LoCoMo-shaped file: {sample_id: [(session date text, turns), ...]}."""

    def write(samples: dict[str, LocomoSessions], name: str = "locomo.json") -> Path:
        path = tmp_path / name
        records = [_locomo_record(sid, sessions) for sid, sessions in samples.items()]
        path.write_text(json.dumps(records), encoding="utf-8")
        return path

    return write


@pytest.fixture
def warnings_seen() -> Iterator[list[logging.LogRecord]]:
    """Warnings of the zettelmem logger (the CLI may have turned its propagation off)."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep(level=logging.WARNING)
    log = logging.getLogger("zettelmem")
    log.addHandler(handler)
    try:
        yield seen
    finally:
        log.removeHandler(handler)
