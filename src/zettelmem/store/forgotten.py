"""Forgotten import keys: what `forget` keeps of a note that came with a dedupe key, so
that importing the same export again skips it instead of bringing it back.

Only a fingerprint of the note's scope and dedupe key is kept (the key names a file or a
conversation and message, or digests the text): never the text, nor the key itself.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from zettelmem.models import NewNote
from zettelmem.store.sqlutil import select_in

SCHEMA = """
    CREATE TABLE forgotten (
        fingerprint TEXT PRIMARY KEY,  -- SHA-256 of the scope and the dedupe key, hex
        scope TEXT NOT NULL,
        at TEXT NOT NULL
    );
"""
KEYS = ("fingerprint", "scope", "at")


def fingerprint(scope: str, dedupe_key: str) -> str:
    return hashlib.sha256(f"{scope}\x1f{dedupe_key}".encode("utf-8", "surrogatepass")).hexdigest()


def bury(db: sqlite3.Connection, labels: Sequence[int], at: str) -> None:
    """Keep the fingerprints of these notes' keys (called before they are deleted)."""
    rows = select_in(
        db, "SELECT scope, dedupe_key FROM notes WHERE dedupe_key IS NOT NULL "
        "AND label IN ({marks})", list(labels),
    )  # fmt: skip
    db.executemany(
        "INSERT OR IGNORE INTO forgotten(fingerprint, scope, at) VALUES (?, ?, ?)",
        [(fingerprint(str(r[0]), str(r[1])), str(r[0]), at) for r in rows],
    )


def dump_forgotten(db: sqlite3.Connection, scope: str | None) -> Iterator[dict[str, Any]]:
    where, args = ("WHERE scope = ?", (scope,)) if scope is not None else ("", ())
    cursor = db.execute(
        f"SELECT {', '.join(KEYS)} FROM forgotten {where} ORDER BY fingerprint", args
    )
    for row in cursor:
        yield dict(zip(KEYS, row))


class ForgottenRecords:
    """forgotten_keys, restore_forgotten_rows (mixed into Records, which owns ``db``)."""

    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def forgotten_keys(self, notes: Sequence[NewNote]) -> set[str]:
        """The dedupe keys of these notes that belonged to notes since forgotten."""
        prints = {fingerprint(n.scope, n.dedupe_key): n.dedupe_key
                  for n in notes if n.dedupe_key is not None}  # fmt: skip
        if not prints:
            return set()
        rows = select_in(
            self.db, "SELECT fingerprint FROM forgotten WHERE fingerprint IN ({marks})",
            sorted(prints),
        )  # fmt: skip
        return {prints[str(r[0])] for r in rows}

    def restore_forgotten_rows(self, rows: Sequence[dict[str, Any]]) -> int:
        """Exported fingerprints; returns how many were new."""
        with self.transaction() as db:
            return sum(
                db.execute(
                    "INSERT OR IGNORE INTO forgotten(fingerprint, scope, at) VALUES (?, ?, ?)",
                    (row["fingerprint"], row["scope"], row["at"]),
                ).rowcount
                for row in rows
            )
