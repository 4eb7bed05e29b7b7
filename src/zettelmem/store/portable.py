"""The record as portable rows (for `mem export`) and back (for importing an export).

Rows are plain dicts of the stored columns, so an export is lossless: ids,
times, tags, keywords, context, status, provenance, every link and every
change. Labels and threads are not exported: labels are assigned again in the
same order, threads are derived from the source.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np

from zettelmem.models import LINK_KINDS, StoredVerdict
from zettelmem.store.conversations import dump_conversation_versions
from zettelmem.store.forgotten import dump_forgotten
from zettelmem.store.links import existing
from zettelmem.store.sqlutil import select_in
from zettelmem.store.text_index import WINDOW_BEFORE
from zettelmem.store.threads import CONTEXT_DEPTH, followers, thread_of
from zettelmem.store.verdicts import put_verdicts
from zettelmem.text import without_lesson_quote
from zettelmem.timeutil import now_iso

NOTE_KEYS = ("id", "content", "created_at", "event_at", "scope", "source", "keywords", "tags",
             "context", "status", "dedupe_key")  # fmt: skip
LINK_KEYS = ("src", "dst", "kind", "weight", "created_at")
CHANGE_KEYS = ("change_id", "note_id", "field", "before", "after", "reason", "at", "reverted_by")
VERDICT_KEYS = ("note_id", "verdict", "risk", "reasons", "at", "review", "reviewed_at")
LESSON_KEYS = ("id", "scope", "text", "signals", "created_at", "vector")


# Quarantined notes stay in the home they were caught in: never exported.
_SHOWN = "status != 'quarantined'"


def _where(alias: str, scope: str | None) -> tuple[str, tuple[object, ...]]:
    """Conditions on one notes alias: exportable, and of the scope when one is given."""
    cond = f"{alias}.{_SHOWN}"
    if scope is None:
        return cond, ()
    return f"{cond} AND {alias}.scope = ?", (scope,)


def _dump(
    db: sqlite3.Connection,
    table: str,
    keys: Sequence[str],
    scope: str | None,
    order: str,
    decode: Sequence[str] = (),
) -> Iterator[dict[str, Any]]:
    """Rows of a table keyed by note id (`note_id`) whose note is exportable, as dicts;
    the `decode` columns hold JSON lists."""
    where, args = _where("n", scope)
    cursor = db.execute(
        f"SELECT {', '.join('t.' + k for k in keys)} FROM {table} t "
        f"JOIN notes n ON n.id = t.note_id WHERE {where} ORDER BY {order}",
        args,
    )
    for row in cursor:
        out = dict(zip(keys, row))
        for key in decode:
            out[key] = json.loads(out[key])
        yield out


def dump_notes(db: sqlite3.Connection, scope: str | None) -> Iterator[dict[str, Any]]:
    """Every exportable note (of one scope), in label order, as a row of NOTE_KEYS."""
    where, args = _where("n", scope)
    cursor = db.execute(
        f"SELECT {', '.join('n.' + k for k in NOTE_KEYS)} FROM notes n WHERE {where} "
        "ORDER BY n.label",
        args,
    )
    for row in cursor:
        out = dict(zip(NOTE_KEYS, row))
        out["keywords"] = json.loads(out["keywords"])
        out["tags"] = json.loads(out["tags"])
        yield out


def dump_links(db: sqlite3.Connection, scope: str | None) -> Iterator[dict[str, Any]]:
    """Links whose two ends are in the export, in a stable order."""
    where_a, args_a = _where("a", scope)
    where_b, args_b = _where("b", scope)
    cursor = db.execute(
        f"SELECT l.src, l.dst, l.kind, l.weight, l.created_at FROM links l "
        f"JOIN notes a ON a.id = l.src JOIN notes b ON b.id = l.dst "
        f"WHERE {where_a} AND {where_b} ORDER BY a.label, b.label, l.kind",
        args_a + args_b,
    )
    for row in cursor:
        yield dict(zip(LINK_KEYS, row))


def dump_changes(db: sqlite3.Connection, scope: str | None) -> Iterator[dict[str, Any]]:
    """The history of the exported notes, oldest first."""
    return _dump(db, "history", CHANGE_KEYS, scope, "t.at, t.change_id")


def dump_verdicts(db: sqlite3.Connection, scope: str | None) -> Iterator[dict[str, Any]]:
    """The guard's verdicts on the exported notes."""
    return _dump(db, "verdicts", VERDICT_KEYS, scope, "n.label", decode=("reasons",))


def dump_lessons(db: sqlite3.Connection, scope: str | None) -> Iterator[dict[str, Any]]:
    """The guard's lessons (of one scope), oldest first; the vector (float32) as base64:
    it is the caught note's meaning, which the lesson's own text does not carry."""
    sql = f"SELECT {', '.join(LESSON_KEYS)} FROM lessons"
    args: tuple[object, ...] = ()
    if scope is not None:
        sql, args = sql + " WHERE scope = ?", (scope,)
    for row in db.execute(sql + " ORDER BY created_at, id", args):
        out = dict(zip(LESSON_KEYS, row))
        out["signals"] = json.loads(out["signals"])
        # The quote of the held note stays home, like the note (quarantined notes are
        # never exported); the vector keeps what the lesson is about.
        out["text"] = without_lesson_quote(out["text"])
        out["vector"] = base64.b64encode(out["vector"]).decode("ascii")
        yield out


def restore_lessons(
    db: sqlite3.Connection, rows: Sequence[dict[str, Any]], vectors: Sequence[np.ndarray]
) -> int:
    """Exported lessons with the vectors to keep (the exported ones, or the lessons'
    texts embedded when the embedder differs); returns how many were new."""
    added = 0
    for row, vector in zip(rows, vectors):
        added += db.execute(
            "INSERT OR IGNORE INTO lessons(id, scope, text, signals, vector, created_at) "
            "VALUES (?,?,?,?,?,?)",
            (row["id"], row["scope"], row["text"], json.dumps(list(row["signals"])),
             np.asarray(vector, dtype=np.float32).tobytes(), row["created_at"]),
        ).rowcount  # fmt: skip
    return added


def restore_notes(
    db: sqlite3.Connection, rows: Sequence[dict[str, Any]], vectors: np.ndarray
) -> list[tuple[int, str]]:
    """Insert exported notes verbatim; returns (label, id) of those written.

    A note whose id, or whose (scope, dedupe key), is stored already is left
    alone, so restoring twice adds nothing.
    """
    written: list[tuple[int, str]] = []
    present = existing(db, [row["id"] for row in rows])
    for row, vector in zip(rows, vectors):
        if row["id"] in present or _same_key(db, row):
            continue
        cursor = db.execute(
            "INSERT INTO notes(id, content, created_at, event_at, scope, source, keywords, tags,"
            " context, status, dedupe_key, thread) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (row["id"], row["content"], row["created_at"], row["event_at"], row["scope"],
             row["source"], json.dumps(list(row["keywords"])), json.dumps(list(row["tags"])),
             row["context"], row["status"], row["dedupe_key"], thread_of(row["source"])),
        )  # fmt: skip
        label = int(cursor.lastrowid or 0)
        db.execute(
            "INSERT INTO embeddings(label, vector) VALUES (?, ?)",
            (label, np.asarray(vector, dtype=np.float32).tobytes()),
        )
        db.executemany(
            "INSERT OR IGNORE INTO note_tags(label, tag) VALUES (?, ?)",
            [(label, tag) for tag in row["tags"]],
        )
        db.execute(
            "INSERT INTO ops(op, label, note_id, at) VALUES ('upsert', ?, ?, ?)",
            (label, row["id"], now_iso()),
        )
        written.append((label, row["id"]))
    return written


def known_notes(db: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Ids of the rows stored already (by id, or by scope and dedupe key): not re-embedded."""
    known = existing(db, [row["id"] for row in rows])
    return known | {row["id"] for row in rows if row["id"] not in known and _same_key(db, row)}


def _same_key(db: sqlite3.Connection, row: dict[str, Any]) -> bool:
    if row.get("dedupe_key") is None:
        return False
    found = db.execute(
        "SELECT 1 FROM notes WHERE scope=? AND dedupe_key=?", (row["scope"], row["dedupe_key"])
    ).fetchone()
    return found is not None


def _insert_rows(
    db: sqlite3.Connection,
    table: str,
    keys: Sequence[str],
    rows: Sequence[dict[str, Any]],
    ends: Sequence[str],
) -> int:
    """INSERT OR IGNORE exported rows whose note ids (the `ends` columns) all exist."""
    alive = existing(db, [row[end] for row in rows for end in ends])
    sql = (f"INSERT OR IGNORE INTO {table}({', '.join(keys)}) "
           f"VALUES ({', '.join('?' * len(keys))})")  # fmt: skip
    added = 0
    for row in rows:
        if all(row[end] in alive for end in ends):
            added += db.execute(sql, tuple(row[k] for k in keys)).rowcount
    return added


def restore_links(db: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Exported links, verbatim, where both ends exist; returns how many were new."""
    known = [row for row in rows if row["kind"] in LINK_KINDS]
    return _insert_rows(db, "links", LINK_KEYS, known, ("src", "dst"))


def restore_changes(db: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Exported history entries of notes that exist; returns how many were new."""
    return _insert_rows(db, "history", CHANGE_KEYS, rows, ("note_id",))


def restore_verdicts(db: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Exported guard verdicts of notes that exist; returns how many were new."""
    stored = [{**row, "reasons": json.dumps(list(row["reasons"]))} for row in rows]
    return _insert_rows(db, "verdicts", VERDICT_KEYS, stored, ("note_id",))


class Dump:
    """The rows of one consistent read of the record (inside ``PortableRecords.dumped``)."""

    def __init__(self, db: sqlite3.Connection, scope: str | None) -> None:
        self._db, self._scope = db, scope

    def notes(self) -> Iterator[dict[str, Any]]:
        return dump_notes(self._db, self._scope)

    def links(self) -> Iterator[dict[str, Any]]:
        return dump_links(self._db, self._scope)

    def changes(self) -> Iterator[dict[str, Any]]:
        return dump_changes(self._db, self._scope)

    def verdicts(self) -> Iterator[dict[str, Any]]:
        return dump_verdicts(self._db, self._scope)

    def lessons(self) -> Iterator[dict[str, Any]]:
        return dump_lessons(self._db, self._scope)

    def forgotten(self) -> Iterator[dict[str, Any]]:
        return dump_forgotten(self._db, self._scope)

    def conversation_versions(self) -> Iterator[dict[str, Any]]:
        return dump_conversation_versions(self._db, self._scope)


class PortableRecords:
    """Export and restore as methods of the record (mixed into Records, which owns ``db``)."""

    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]
    snapshot: Callable[[], AbstractContextManager[None]]

    @contextmanager
    def dumped(self, scope: str | None) -> Iterator[Dump]:
        """Rows of a scope (or all) as they stand in one read transaction."""
        with self.snapshot():
            yield Dump(self.db, scope)

    def known_note_rows(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Ids of exported notes stored already (not embedded again on a re-run)."""
        return known_notes(self.db, rows)

    def restore_note_rows(
        self,
        rows: Sequence[dict[str, Any]],
        vectors: np.ndarray,
        judged: Sequence[StoredVerdict] = (),
    ) -> list[tuple[int, str]]:
        with self.transaction() as db:
            written = restore_notes(db, rows, vectors)
            # Only the notes written now: a note stored already keeps its own verdict.
            new = {note_id for _, note_id in written}
            put_verdicts(db, [v for v in judged if v.note_id in new])
            return written

    def restore_other_rows(
        self,
        links: Sequence[dict[str, Any]],
        changes: Sequence[dict[str, Any]],
        verdicts: Sequence[dict[str, Any]],
    ) -> tuple[int, int]:
        """Links, history and verdicts of a restore, in one transaction."""
        with self.transaction() as db:
            counts = restore_links(db, links), restore_changes(db, changes)
            restore_verdicts(db, verdicts)
            # A turn's window and context vector hold the turns it follows: those that now
            # follow a restored turn are derived again (the indexes may have seen them
            # before their links arrived).
            ends = sorted({str(row["dst"]) for row in links if row["kind"] == "follows"})
            # Every turn that follows one of them (followers() leaves out the ends
            # themselves, though one end may follow another), and the turns after those.
            touched = {
                (int(r[0]), str(r[1]))
                for r in select_in(
                    db, "SELECT n.label, n.id FROM links l JOIN notes n ON n.id = l.src "
                    "WHERE l.kind = 'follows' AND l.dst IN ({marks})", ends,
                )
            }  # fmt: skip
            depth = max(WINDOW_BEFORE, CONTEXT_DEPTH)
            for start in range(0, len(ends), 500):
                touched.update(followers(db, ends[start : start + 500], depth))
            db.executemany(
                "INSERT INTO ops(op, label, note_id, at) VALUES ('upsert', ?, ?, ?)",
                [(label, note_id, now_iso()) for label, note_id in sorted(touched)],
            )
        return counts

    def restore_lesson_rows(
        self, rows: Sequence[dict[str, Any]], vectors: Sequence[np.ndarray]
    ) -> int:
        """Exported lessons with the vectors to keep; returns how many were new."""
        with self.transaction() as db:
            return restore_lessons(db, rows, vectors)
