"""The guard's part of the record: a verdict per checked note, and the lessons kept apart.

A note with no verdict row was accepted with no risk. Lessons live in their own
table, never among the notes: recall hands them back beside the hits, and they
are never linked, evolved or exported as memories.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import cast

import numpy as np

from zettelmem.ids import new_id
from zettelmem.models import Lesson, Review, StoredVerdict, Verdict
from zettelmem.store.sqlutil import select_in
from zettelmem.timeutil import now_iso

SCHEMA = """
    CREATE TABLE verdicts (
        note_id TEXT PRIMARY KEY REFERENCES notes(id) ON DELETE CASCADE,
        verdict TEXT NOT NULL CHECK (verdict IN ('accept', 'flag', 'quarantine')),
        risk REAL NOT NULL,
        reasons TEXT NOT NULL DEFAULT '[]',
        at TEXT NOT NULL,
        review TEXT CHECK (review IN ('approved', 'rejected')),  -- NULL: not settled yet
        reviewed_at TEXT
    );
    CREATE INDEX verdicts_open ON verdicts(verdict) WHERE review IS NULL;
    CREATE TABLE lessons (
        id TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        text TEXT NOT NULL,
        signals TEXT NOT NULL DEFAULT '[]',
        vector BLOB NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX lessons_scope ON lessons(scope);
"""


# What _verdict reads, in its order.
_COLUMNS = "v.note_id, v.verdict, v.risk, v.reasons, v.at, v.review"


def put_verdicts(db: sqlite3.Connection, verdicts: Sequence[StoredVerdict]) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO verdicts(note_id, verdict, risk, reasons, at, review) "
        "VALUES (?,?,?,?,?,?)",
        [(v.note_id, v.verdict, v.risk, json.dumps(list(v.reasons)), v.at, v.review)
         for v in verdicts],
    )  # fmt: skip


def verdicts_of(db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, StoredVerdict]:
    rows = select_in(
        db,
        f"SELECT {_COLUMNS} FROM verdicts v WHERE note_id IN ({{marks}})",
        list(ids),
    )
    return {r[0]: _verdict(r) for r in rows}


def open_verdicts(db: sqlite3.Connection, scope: str | None) -> list[StoredVerdict]:
    """Flagged and quarantined notes nobody has settled, riskiest first."""
    sql = (
        f"SELECT {_COLUMNS} FROM verdicts v "
        "JOIN notes n ON n.id = v.note_id WHERE v.review IS NULL AND v.verdict != 'accept'"
    )
    args: tuple[object, ...] = ()
    if scope is not None:
        sql += " AND n.scope = ?"
        args = (scope,)
    rows = db.execute(sql + " ORDER BY v.risk DESC, v.at, v.note_id", args).fetchall()
    return [_verdict(r) for r in rows]


def settle(db: sqlite3.Connection, note_id: str, review: str) -> None:
    """Record a review. An approved note's risk becomes 0 for good (its verdict and
    reasons stay, as the record of what was checked): nothing downgrades it again."""
    if review == "approved":
        db.execute("UPDATE verdicts SET review=?, reviewed_at=?, risk=0 WHERE note_id=?",
                   (review, now_iso(), note_id))  # fmt: skip
        return
    db.execute(
        "UPDATE verdicts SET review=?, reviewed_at=? WHERE note_id=?", (review, now_iso(), note_id)
    )


def add_reason(db: sqlite3.Connection, note_id: str, reason: str) -> None:
    """One more reason on a note's verdict (once), kept only while it is not settled."""
    row = db.execute(
        "SELECT reasons FROM verdicts WHERE note_id = ? AND review IS NULL", (note_id,)
    ).fetchone()
    reasons = json.loads(str(row[0])) if row is not None else None
    if reasons is None or reason in reasons:
        return
    db.execute("UPDATE verdicts SET reasons = ? WHERE note_id = ?",
               (json.dumps([*reasons, reason]), note_id))  # fmt: skip


def held(db: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    """The ids the guard holds: flagged or quarantined, and not approved in review."""
    return {
        str(r[0])
        for r in select_in(
            db,
            "SELECT note_id FROM verdicts WHERE verdict != 'accept' AND review IS NOT 'approved' "
            "AND note_id IN ({marks})",
            list(ids),
        )
    }


def lessons_with_text(
    db: sqlite3.Connection, scope: str, text: str
) -> list[tuple[str, np.ndarray]]:
    """(id, vector) of the lessons of a scope with exactly this text."""
    rows = db.execute("SELECT id, vector FROM lessons WHERE scope = ? AND text = ?", (scope, text))
    return [(str(r[0]), np.frombuffer(r[1], dtype=np.float32)) for r in rows]


def drop_lessons(db: sqlite3.Connection, ids: Sequence[str]) -> int:
    """Delete lessons by id; returns how many."""
    return sum(db.execute("DELETE FROM lessons WHERE id = ?", (i,)).rowcount for i in ids)


def _verdict(row: Sequence[object]) -> StoredVerdict:
    return StoredVerdict(
        note_id=str(row[0]),
        verdict=cast(Verdict, str(row[1])),
        risk=float(row[2]),  # type: ignore[arg-type]
        reasons=tuple(json.loads(str(row[3]))),
        at=str(row[4]),
        review=None if row[5] is None else cast(Review, str(row[5])),
    )


def add_lesson(
    db: sqlite3.Connection, scope: str, text: str, signals: Sequence[str], vector: np.ndarray
) -> Lesson:
    lesson = Lesson(new_id(), scope, text, tuple(signals), now_iso())
    db.execute(
        "INSERT INTO lessons(id, scope, text, signals, vector, created_at) VALUES (?,?,?,?,?,?)",
        (lesson.id, scope, text, json.dumps(list(signals)),
         np.asarray(vector, dtype=np.float32).tobytes(), lesson.created_at),
    )  # fmt: skip
    return lesson


def lessons_near(
    db: sqlite3.Connection, scope: str | None, vector: np.ndarray, k: int, min_cos: float
) -> list[tuple[Lesson, float]]:
    """The lessons of a scope (all scopes when None) closest to a query vector."""
    sql = "SELECT id, scope, text, signals, created_at, vector FROM lessons"
    rows = (db.execute(sql + " WHERE scope = ?", (scope,)) if scope is not None
            else db.execute(sql)).fetchall()  # fmt: skip
    scored = []
    for row in rows:
        stored = np.frombuffer(row[5], dtype=np.float32)
        if stored.shape != np.shape(vector):
            continue  # made by another embedder (`mem reindex` makes it again)
        cos = float(stored @ vector)
        if cos >= min_cos:
            lesson = Lesson(row[0], row[1], row[2], tuple(json.loads(row[3])), row[4])
            scored.append((lesson, cos))
    scored.sort(key=lambda item: (-item[1], item[0].id))
    return scored[:k]


def set_lesson_vectors(db: sqlite3.Connection, pairs: Sequence[tuple[str, np.ndarray]]) -> None:
    """Replace lessons' vectors (after the embedder changed)."""
    db.executemany(
        "UPDATE lessons SET vector = ? WHERE id = ?",
        [(np.asarray(v, dtype=np.float32).tobytes(), lesson_id) for lesson_id, v in pairs],
    )


def all_lessons(db: sqlite3.Connection, scope: str | None) -> list[Lesson]:
    sql = "SELECT id, scope, text, signals, created_at FROM lessons"
    rows = (db.execute(sql + " WHERE scope = ? ORDER BY created_at, id", (scope,)) if scope
            else db.execute(sql + " ORDER BY created_at, id")).fetchall()  # fmt: skip
    return [Lesson(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4]) for r in rows]


def participants(db: sqlite3.Connection, scope: str) -> set[str]:
    """Lower-cased speakers ('Name: ...') of the conversation turns stored in a scope."""
    rows = db.execute(
        "SELECT DISTINCT lower(trim(substr(content, 1, instr(content, ':') - 1))) FROM notes "
        "WHERE scope = ? AND thread IS NOT NULL AND instr(content, ':') BETWEEN 2 AND 42",
        (scope,),
    ).fetchall()
    return {str(r[0]) for r in rows if r[0]}


class VerdictRecords:
    """The guard's rows as methods of the record (mixed into Records, which owns ``db``)."""

    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def verdicts_of(self, ids: Sequence[str]) -> dict[str, StoredVerdict]:
        return verdicts_of(self.db, ids)

    def open_verdicts(self, scope: str | None) -> list[StoredVerdict]:
        return open_verdicts(self.db, scope)

    def settle(self, note_id: str, review: str) -> None:
        with self.transaction() as db:
            settle(db, note_id, review)

    def add_reason(self, note_id: str, reason: str) -> None:
        with self.transaction() as db:
            add_reason(db, note_id, reason)

    def participants(self, scope: str) -> set[str]:
        return participants(self.db, scope)

    def lessons_near(
        self, scope: str | None, vector: np.ndarray, k: int, min_cos: float
    ) -> list[tuple[Lesson, float]]:
        return lessons_near(self.db, scope, vector, k, min_cos)

    def add_lesson(
        self, scope: str, text: str, signals: Sequence[str], vector: np.ndarray
    ) -> Lesson:
        with self.transaction() as db:
            return add_lesson(db, scope, text, signals, vector)

    def all_lessons(self, scope: str | None) -> list[Lesson]:
        return all_lessons(self.db, scope)

    def set_lesson_vectors(self, pairs: Sequence[tuple[str, np.ndarray]]) -> None:
        with self.transaction() as db:
            set_lesson_vectors(db, pairs)

    def held(self, ids: Sequence[str]) -> set[str]:
        return held(self.db, ids)

    def lessons_with_text(self, scope: str, text: str) -> list[tuple[str, np.ndarray]]:
        return lessons_with_text(self.db, scope, text)

    def drop_lessons(self, ids: Sequence[str]) -> int:
        with self.transaction() as db:
            return drop_lessons(db, ids)
