"""Shared fixtures: an offline environment, a home in tmp_path, a CLI driver, LoCoMo files.

Nothing here is autouse: a test module opts in (``pytestmark =
pytest.mark.usefixtures("offline_env")``) so tests that want the default
embedder keep it.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
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


# -- A real PostgreSQL (with pgvector) for the database record -------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """PostgreSQL 16 with pgvector from the pgserver wheel, started once and stopped at the
    end; the tests that need it skip (saying why) where it cannot start."""
    try:
        import pgserver
        import psycopg
    except ImportError as exc:
        pytest.skip(f"PostgreSQL tests need the dev extra (pgserver, psycopg): {exc}")
    # As root, pgserver runs PostgreSQL as its own user, which must reach the data folder
    # (pytest's temporary folders are private to root).
    root = Path(tempfile.mkdtemp(prefix="zettelmem-pg-"))
    root.chmod(0o755)
    try:
        server = pgserver.get_server(root / "data", cleanup_mode="stop")
    except Exception as exc:  # any failure to start is a reason to skip
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"cannot start a local PostgreSQL with pgserver here: {exc}")
    # A throwaway server: durability is not under test, speed is welcome.
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("ALTER SYSTEM SET synchronous_commit = off")
        conn.execute("ALTER SYSTEM SET full_page_writes = off")
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield server
    finally:
        from zettelmem.store.pgconn import close_pools

        close_pools()
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database (pgvector available) for one test, dropped after it."""
    import psycopg

    name = f"t{abs(hash(request.node.nodeid)) % 10**10}_{id(request) % 10**6}"
    admin = pg_server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')
    url = pg_server.get_uri(name)
    try:
        yield url
    finally:
        from zettelmem.store.pgconn import close_pools

        close_pools(url)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_outage(pg_server: Any) -> Callable[[str], AbstractContextManager[None]]:
    """``with pg_outage(url):`` the database at ``url`` takes no connections and loses those
    it has until the block ends: an outage of one database, while the server other tests
    use keeps running."""
    import psycopg

    admin = pg_server.get_uri()

    @contextmanager
    def outage(url: str) -> Iterator[None]:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT current_database()").fetchone()
        name = str(row[0]) if row else ""
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))  # fmt: skip
        try:
            yield
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    return outage


@pytest.fixture(params=["file", "postgres", "postgres-search"])
def store_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test on the home's SQLite record, on a PostgreSQL database searched through
    this machine's indexes, and on one searched inside the database (through MEM_STORE
    and MEM_SEARCH, as a user would choose them)."""
    monkeypatch.delenv("MEM_SEARCH", raising=False)
    if request.param == "file":
        monkeypatch.delenv("MEM_STORE", raising=False)
    else:
        monkeypatch.setenv("MEM_STORE", request.getfixturevalue("pg_url"))
        search = "database" if request.param == "postgres-search" else "local"
        monkeypatch.setenv("MEM_SEARCH", search)
    return str(request.param)
