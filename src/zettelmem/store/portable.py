"""The record as portable rows (for `mem export`) and back (for importing an export).

Rows are plain dicts of the stored columns, so an export is lossless: ids,
times, tags, keywords, context, status, provenance, every link and every
change. Labels and threads are not exported: labels are assigned again in the
same order, threads are derived from the source.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from zettelmem.store.links import LINK_KINDS, existing
from zettelmem.store.threads import thread_of
from zettelmem.timeutil import now_iso

NOTE_KEYS = ("id", "content", "created_at", "event_at", "scope", "source", "keywords", "tags",
             "context", "status", "dedupe_key")  # fmt: skip
LINK_KEYS = ("src", "dst", "kind", "weight", "created_at")
CHANGE_KEYS = ("change_id", "note_id", "field", "before", "after", "reason", "at", "reverted_by")
VERDICT_KEYS = ("note_id", "verdict", "risk", "reasons", "at", "review", "reviewed_at")


# Quarantined notes stay in the home they were caught in: never exported.
_SHOWN = "status != 'quarantined'"


def _where(alias: str, scope: str | None) -> tuple[str, tuple[object, ...]]:
    """Conditions on one notes alias: exportable, and of the scope when one is given."""
    cond = f"{alias}.{_SHOWN}"
    if scope is None:
        return cond, ()
    return f"{cond} AND {alias}.scope = ?", (scope,)


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
    where, args = _where("n", scope)
    cursor = db.execute(
        f"SELECT {', '.join('h.' + k for k in CHANGE_KEYS)} FROM history h "
        f"JOIN notes n ON n.id = h.note_id WHERE {where} ORDER BY h.at, h.change_id",
        args,
    )
    for row in cursor:
        yield dict(zip(CHANGE_KEYS, row))


def dump_verdicts(db: sqlite3.Connection, scope: str | None) -> Iterator[dict[str, Any]]:
    """The guard's verdicts on the exported notes."""
    where, args = _where("n", scope)
    cursor = db.execute(
        f"SELECT {', '.join('v.' + k for k in VERDICT_KEYS)} FROM verdicts v "
        f"JOIN notes n ON n.id = v.note_id WHERE {where} ORDER BY n.label",
        args,
    )
    for row in cursor:
        out = dict(zip(VERDICT_KEYS, row))
        out["reasons"] = json.loads(out["reasons"])
        yield out


def restore_verdicts(db: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> int:
    alive = existing(db, [row["note_id"] for row in rows])
    added = 0
    for row in rows:
        if row["note_id"] in alive:
            values = {**row, "reasons": json.dumps(list(row["reasons"]))}
            cursor = db.execute(
                f"INSERT OR IGNORE INTO verdicts({', '.join(VERDICT_KEYS)}) "
                f"VALUES ({', '.join('?' * len(VERDICT_KEYS))})",
                tuple(values[k] for k in VERDICT_KEYS),
            )
            added += cursor.rowcount
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


def _same_key(db: sqlite3.Connection, row: dict[str, Any]) -> bool:
    if row.get("dedupe_key") is None:
        return False
    found = db.execute(
        "SELECT 1 FROM notes WHERE scope=? AND dedupe_key=?", (row["scope"], row["dedupe_key"])
    ).fetchone()
    return found is not None


def restore_links(db: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert exported links verbatim where both ends exist; returns how many were new."""
    alive = existing(db, [x for row in rows for x in (row["src"], row["dst"])])
    added = 0
    for row in rows:
        if row["src"] in alive and row["dst"] in alive and row["kind"] in LINK_KINDS:
            cursor = db.execute(
                "INSERT OR IGNORE INTO links(src, dst, kind, weight, created_at) "
                "VALUES (?,?,?,?,?)",
                tuple(row[k] for k in LINK_KEYS),
            )
            added += cursor.rowcount
    return added


def restore_changes(db: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert exported history entries of notes that exist; returns how many were new."""
    alive = existing(db, [row["note_id"] for row in rows])
    added = 0
    for row in rows:
        if row["note_id"] in alive:
            cursor = db.execute(
                f"INSERT OR IGNORE INTO history({', '.join(CHANGE_KEYS)}) "
                f"VALUES ({', '.join('?' * len(CHANGE_KEYS))})",
                tuple(row[k] for k in CHANGE_KEYS),
            )
            added += cursor.rowcount
    return added
