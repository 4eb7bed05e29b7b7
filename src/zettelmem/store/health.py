"""What `mem doctor` asks of the SQLite record: its integrity, the raw values of its notes,
and a sample of notes spread over it."""

from __future__ import annotations

from collections.abc import Iterator

from zettelmem.store.records import Records
from zettelmem.store.sqlutil import RecordUnreadable

__all__ = ["RecordUnreadable", "integrity", "raw_notes", "spread_sample"]

NOTE_COLUMNS = ("id", "created_at", "event_at", "status", "scope", "tags", "keywords")


def integrity(records: Records, limit: int = 20) -> tuple[list[str], int]:
    """(SQLite's integrity_check lines, ['ok'] when sound; rows whose foreign key dangles)."""
    rows = [str(r[0]) for r in records.db.execute(f"PRAGMA integrity_check({int(limit)})")]
    dangling = len(records.db.execute("PRAGMA foreign_key_check").fetchall())
    return rows, dangling


def raw_notes(records: Records) -> Iterator[dict[str, object]]:
    """Every note's fields as stored (not parsed), for checking them."""
    cursor = records.db.execute(f"SELECT {', '.join(NOTE_COLUMNS)} FROM notes")
    for row in cursor:
        yield dict(zip(NOTE_COLUMNS, tuple(row)))


def spread_sample(records: Records, size: int) -> list[tuple[int, str]]:
    """(label, content) of at most ``size`` notes spread over the whole record."""
    step = max(1, records.count() // size)
    rows = records.db.execute(
        "SELECT label, content FROM notes WHERE label % ? = 0 LIMIT ?", (step, size)
    ).fetchall()
    return [(int(label), str(content)) for label, content in rows]
