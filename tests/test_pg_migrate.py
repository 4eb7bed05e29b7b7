"""A `mem migrate` stopped half-way (killed, a lost connection) is never taken for a whole
record: the target is refused to everything but the migration run again, `mem doctor`
names it, and running it again finishes it. Both ways: a home into a database and back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner, Result

from zettelmem.cli.main import cli
from zettelmem.errors import HomeError
from zettelmem.memory.core import Memory
from zettelmem.store.records import Records
from zettelmem.store.unfinished import PREFIX
from zettelmem.transfer import export

pytestmark = pytest.mark.usefixtures("offline_env")

TURNS = 20


class Stopped(Exception):
    """What stops the copy in these tests (as a kill or a lost connection would)."""


def _mem(home: Path, *args: str, store: str | None = None) -> Result:
    front = ["--home", str(home)] + (["--store", store] if store else [])
    return CliRunner().invoke(cli, [*front, *args], catch_exceptions=False)


def _ok(home: Path, *args: str, store: str | None = None) -> Any:
    result = _mem(home, *args, "--json", store=store)
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def _refused(result: Result) -> str:
    """The one `Error:` line of a command refused, with the home error's exit code."""
    assert result.exit_code == HomeError.exit_code, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def _fill(home: Path, tmp_path: Path) -> None:
    """A conversation (its turns linked as a thread) and an access token."""
    chat = tmp_path / f"{home.name}-chat.jsonl"
    with chat.open("w", encoding="utf-8") as out:
        for i in range(TURNS):
            text = f"turn {i}: the {['heron', 'otter', 'kestrel', 'badger'][i % 4]} by the canal"
            out.write(json.dumps({"role": "user" if i % 2 == 0 else "assistant",
                                  "content": text,
                                  "timestamp": f"2024-03-01T10:{i:02d}:00Z"}) + "\n")  # fmt: skip
    _ok(home, "import", str(chat), "--scope", "canal")
    made = _mem(home, "token", "create", "alice", "--grant", "canal:rw")
    assert made.exit_code == 0, made.stderr


def _rows(home: Path, tmp_path: Path, store: str | None = None) -> list[dict[str, Any]]:
    dest = tmp_path / f"export-{len(list(tmp_path.glob('export-*')))}.jsonl"
    _ok(home, "export", str(dest), store=store)
    rows = [json.loads(line) for line in dest.read_text(encoding="utf-8").splitlines()]
    return [row for row in rows if row["type"] != "header"]


def _stop(home: Path, *args: str) -> None:
    """`mem migrate ARGS` with notes restored three at a time and the third batch failing:
    the target keeps six notes and nothing written after them (links, history, tokens)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export, "_BATCH", 3)
        real = Records.restore_note_rows
        calls = []

        def failing(self: Records, rows: Any, vectors: np.ndarray) -> Any:
            calls.append(len(rows))
            if len(calls) == 3:
                raise Stopped("the copy stopped here")
            return real(self, rows, vectors)

        patch.setattr(Records, "restore_note_rows", failing)
        with pytest.raises(Stopped):
            _mem(home, "migrate", *args)


def _counts(url: str) -> list[int]:
    """[notes, links, tokens] as the database holds them."""
    with psycopg.connect(url) as conn:
        return [int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
                for table in ("notes", "links", "tokens")]  # fmt: skip


def _marks(records: Records) -> list[str]:
    rows = records.db.execute("SELECT key FROM meta").fetchall()
    return [str(row[0]) for row in rows if str(row[0]).startswith(PREFIX)]


def test_a_migration_into_a_database_stopped_half_way_is_refused_until_run_again(
    tmp_path: Path, pg_url: str
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    _fill(home, tmp_path)
    whole = _rows(home, tmp_path)
    _stop(home, "--to", pg_url)
    assert _counts(pg_url) == [6, 0, 0]  # part of the notes, nothing after them
    # Every use of the database but the migration itself says what happened and what to do.
    for args in (("stats",), ("recall", "heron"), ("token", "list"), ("remember", "x")):
        line = _refused(_mem(elsewhere, *args, store=pg_url))
        assert "the migration into the database" in line and "has not finished" in line, line
        assert f"from the home {home} on host " in line, line
        assert f"run `mem migrate --to {pg_url}` again from that home" in line, line
    with pytest.raises(HomeError, match="has not finished"):
        Memory(elsewhere, store=pg_url)  # as `mem serve` and `mem ui` open it
    # `mem doctor` fails on it, and --repair (which rebuilds indexes) does not pretend to mend.
    for repair in ((), ("--repair",)):
        result = _mem(elsewhere, "doctor", *repair, "--json", store=pg_url)
        report = json.loads(result.stdout)
        assert result.exit_code == 1 and not report["ok"] and not report["repaired"], report
        [check] = [c for c in report["checks"] if c["name"] == "migration"]
        assert not check["ok"] and "`mem migrate --to" in check["detail"], check
    # Running it again finishes it: every note, link and token, and no mark is left.
    again = _ok(home, "migrate", "--to", pg_url)
    assert (again["added"], again["skipped"], again["tokens"]) == (TURNS - 6, 6, 1)
    assert _rows(elsewhere, tmp_path, store=pg_url) == whole
    assert _ok(elsewhere, "doctor", store=pg_url)["ok"]
    with Memory(elsewhere, store=pg_url) as memory:
        assert memory.records.unfinished_migrations() == [] and _marks(memory.records) == []


def test_a_migration_into_a_home_stopped_half_way_is_refused_until_run_again(
    tmp_path: Path, pg_url: str
) -> None:
    first, home = tmp_path / "first", tmp_path / "home"
    _fill(first, tmp_path)
    whole = _rows(first, tmp_path)
    _ok(first, "migrate", "--to", pg_url)
    _stop(home, "--from", pg_url)
    line = _refused(_mem(home, "stats"))
    assert f"the migration into the home {home} from postgresql://" in line, line
    assert f"run `mem migrate --from {pg_url}` again to finish it" in line, line
    # Nor can the part be carried on elsewhere as if it were the whole.
    assert "has not finished" in _refused(_mem(home, "migrate", "--to", pg_url))
    report = json.loads(_mem(home, "doctor", "--json").stdout)
    assert [c["ok"] for c in report["checks"] if c["name"] == "migration"] == [False], report
    # The database it came from is untouched and open to all.
    assert _ok(first, "stats", store=pg_url)["notes"] == TURNS
    again = _ok(home, "migrate", "--from", pg_url)
    assert (again["added"], again["skipped"]) == (TURNS - 6, 6)
    assert _rows(home, tmp_path) == whole
    assert _ok(home, "doctor")["ok"]
    with Memory(home) as memory:
        assert _marks(memory.records) == []


def test_a_finished_migration_leaves_no_mark_and_never_clears_another_sources(
    tmp_path: Path, pg_url: str
) -> None:
    one, two, back = tmp_path / "one", tmp_path / "two", tmp_path / "back"
    _fill(one, tmp_path)
    _ok(two, "remember", "the kingfisher nests under the bridge")
    _stop(one, "--to", pg_url)
    # Another home moving in finishes its own migration; the first is still unfinished.
    assert _ok(two, "migrate", "--to", pg_url)["added"] == 1
    assert f"from the home {one} on host" in _refused(_mem(back, "stats", store=pg_url))
    _ok(one, "migrate", "--to", pg_url)
    assert _ok(back, "stats", store=pg_url)["notes"] == TURNS + 1
    _ok(back, "migrate", "--from", pg_url)
    for memory in (Memory(back, store=pg_url), Memory(back, store="")):
        with memory:
            assert _marks(memory.records) == []
