"""Running one query over many ids without passing SQLite's limit on parameters."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

CHUNK = 400
# Raised by SQLite when notes.db is damaged or not a database; the doors translate it
# (named here so that nothing outside store/ imports sqlite3).
RecordUnreadable = sqlite3.DatabaseError


def select_in(
    db: sqlite3.Connection,
    sql: str,
    values: Sequence[Any],
    before: Sequence[Any] = (),
    after: Sequence[Any] = (),
) -> list[Any]:
    """Rows of ``sql`` run once per chunk of ``values``.

    Each ``{marks}`` in ``sql`` becomes the chunk's placeholders; the parameters
    are ``before``, then the chunk once per ``{marks}``, then ``after``.
    """
    rows: list[Any] = []
    times = sql.count("{marks}")
    for start in range(0, len(values), CHUNK):
        chunk = list(values[start : start + CHUNK])
        query = sql.replace("{marks}", ",".join("?" * len(chunk)))
        rows.extend(db.execute(query, [*before, *(chunk * times), *after]).fetchall())
    return rows
