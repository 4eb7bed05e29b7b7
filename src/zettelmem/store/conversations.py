"""Conversation versions: for each chat export's conversation an import took turns from,
the newest last-update time (ChatGPT's ``update_time``) among the exports imported.

An export whose conversation is older than that leaves the conversation as the newer
export left it (transfer/pipeline.py): imported after it, by a nightly import of a
folder in glob order, an older export must not make its branch current again. A
conversation's turns do not tell: an older export may hold the newer answer too (the
first one was chosen again before that export), and a newer one may show an older
branch again. Kept by a fingerprint of the scope and the thread (as store/forgotten.py
keeps keys), never the conversation's id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from zettelmem.models import ConversationVersion
from zettelmem.store.forgotten import fingerprint

SCHEMA = """
    CREATE TABLE conversation_versions (
        fingerprint TEXT PRIMARY KEY,  -- SHA-256 of the scope and the thread, hex
        scope TEXT NOT NULL,
        updated_at TEXT NOT NULL  -- the newest last update of the exports imported
    );
"""
KEYS = ("fingerprint", "scope", "updated_at")
# Moments in the stored format compare as text; an older time never replaces a newer one.
_KEEP_NEWEST = (
    "INSERT INTO conversation_versions(fingerprint, scope, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT(fingerprint) DO UPDATE SET updated_at = excluded.updated_at "
    "WHERE excluded.updated_at > conversation_versions.updated_at"
)


def dump_conversation_versions(
    db: sqlite3.Connection, scope: str | None
) -> Iterator[dict[str, Any]]:
    where, args = ("WHERE scope = ?", (scope,)) if scope is not None else ("", ())
    cursor = db.execute(
        f"SELECT {', '.join(KEYS)} FROM conversation_versions {where} ORDER BY fingerprint",
        args,
    )
    for row in cursor:
        yield dict(zip(KEYS, row))


class ConversationRecords:
    """conversation_version, keep_conversation_versions, restore_conversation_rows (mixed
    into Records, which owns ``db``)."""

    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def conversation_version(self, scope: str, thread: str) -> str | None:
        """The newest last update of the exports of this conversation imported (None: no
        import said)."""
        row = self.db.execute(
            "SELECT updated_at FROM conversation_versions WHERE fingerprint = ?",
            (fingerprint(scope, thread),),
        ).fetchone()
        return None if row is None else str(row[0])

    def keep_conversation_versions(self, versions: Sequence[ConversationVersion]) -> None:
        """Remember the conversations imported, each as of its export (in one transaction;
        a version older than the one kept changes nothing)."""
        with self.transaction() as db:
            db.executemany(_KEEP_NEWEST, [(fingerprint(v.scope, v.thread), v.scope,
                                           v.updated_at) for v in versions])  # fmt: skip

    def restore_conversation_rows(self, rows: Sequence[dict[str, Any]]) -> int:
        """Exported conversation versions (the newer of two is kept); returns how many rows
        were written."""
        with self.transaction() as db:
            return sum(
                db.execute(_KEEP_NEWEST, (r["fingerprint"], r["scope"], r["updated_at"])).rowcount
                for r in rows
            )
