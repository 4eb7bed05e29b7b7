"""Marks of a `mem migrate` into this record that has not finished (mixed into Records).

A migration copies a record in many transactions (batches of notes, then the links,
history, lessons and access tokens). Stopped half-way (killed, a lost connection), the
target holds part of the source and nothing in it says so: every check passes and servers
serve the part. So a migration marks the target (in meta) before its first write and
removes the mark after its last one, and a marked record is opened by nothing but
`mem migrate`, which finishes the copy (memory/core.py); `mem doctor` names the mark.

A mark per source: two homes moving into one database each finish their own, and one
that finished never hides another that did not.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass

PREFIX = "migration_unfinished:"  # meta key: PREFIX + the source's key


@dataclass(frozen=True)
class Unfinished:
    """One migration into this record that started and has not finished."""

    source: str  # what is being copied in, as people name it: a home (and host), a database
    finish: str  # what finishes it, e.g. "run `mem migrate --to URL` again from that home"
    started_at: str


def refusal(record: str, found: Sequence[Unfinished]) -> str:
    """The one line that refuses to open ``record`` (e.g. "the home /x") while it holds
    part of a migration."""
    first = found[0]
    more = f" (and {len(found) - 1} more migration(s) into it)" if len(found) > 1 else ""
    # "has not finished": the migration may still be running (its mark is the same).
    return (f"the migration into {record} from {first.source} (started {first.started_at}) "
            f"has not finished{more}, so it holds only part of that memory; unless it is "
            f"still running, {first.finish} to finish it")  # fmt: skip


def _parsed(value: str) -> Unfinished:
    """A stored mark; one not written by this code still counts (as an unknown source)."""
    try:
        raw = json.loads(value)
        return Unfinished(str(raw["source"]), str(raw["finish"]), str(raw["started_at"]))
    except (ValueError, TypeError, KeyError, RecursionError):
        return Unfinished("an unknown source", "run that `mem migrate` again", "at a time unknown")


class UnfinishedRecords:
    """begin_migration, end_migration, unfinished_migrations (mixed into Records, which
    owns ``db``)."""

    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def begin_migration(self, source_key: str, mark: Unfinished) -> None:
        """Mark the record before a migration from ``source_key`` writes to it (a mark
        from an earlier attempt from that source is replaced)."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                       (PREFIX + source_key, json.dumps(asdict(mark))))  # fmt: skip

    def end_migration(self, source_key: str) -> None:
        """Remove the mark once the migration's last write is committed."""
        with self.transaction() as db:
            db.execute("DELETE FROM meta WHERE key = ?", (PREFIX + source_key,))

    def unfinished_migrations(self) -> list[Unfinished]:
        """The marks of migrations into this record that have not finished, oldest first."""
        # substr, not LIKE (whose `_` is a wildcard) or a range (collations differ).
        rows = self.db.execute(
            f"SELECT value FROM meta WHERE substr(key, 1, {len(PREFIX)}) = ?", (PREFIX,)
        ).fetchall()
        return sorted((_parsed(str(row[0])) for row in rows), key=lambda m: m.started_at)
