"""Links, the history of derived-field changes, and reverting them, in the record."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence

from zettelmem.errors import InvalidInput, NotFound
from zettelmem.ids import new_id
from zettelmem.models import Change, Link
from zettelmem.store.sqlutil import select_in
from zettelmem.timeutil import now_iso

NOTE_FIELDS = ("tags", "context", "keywords", "status")
# How a supersede's status change names the note that superseded (construct.supersede, link).
_SUPERSEDED_BY = re.compile(r"^superseded by ([0-9a-z]+)\b")


def existing(db: sqlite3.Connection, ids: Iterable[str]) -> set[str]:
    rows = select_in(db, "SELECT id FROM notes WHERE id IN ({marks})", list(set(ids)))
    return {r[0] for r in rows}


def insert_links(db: sqlite3.Connection, links: Sequence[Link]) -> list[Link]:
    """Store links whose two ends exist (never a dangling id); returns those stored."""
    alive = existing(db, [x for link in links for x in (link.src, link.dst)])
    stored = []
    for link in links:
        if link.src in alive and link.dst in alive and link.src != link.dst:
            db.execute(
                "INSERT INTO links(src, dst, kind, weight, created_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(src, dst, kind) DO UPDATE SET weight=MAX(weight, excluded.weight)",
                (link.src, link.dst, link.kind, link.weight, now_iso()),
            )
            stored.append(link)
    return stored


def links_of(db: sqlite3.Connection, note_id: str) -> list[Link]:
    """Every link from or to a note, strongest first."""
    rows = db.execute(
        "SELECT src, dst, kind, weight FROM links WHERE src=? OR dst=? "
        "ORDER BY weight DESC, kind, src, dst",
        (note_id, note_id),
    ).fetchall()
    return [Link(r[0], r[1], r[2], float(r[3])) for r in rows]


def _current(db: sqlite3.Connection, note_id: str, field: str) -> str:
    """A field's value as history stores it; a link's is its weight, "null" when absent."""
    if field.startswith("link:"):
        _, dst, kind = field.split(":", 2)
        row = db.execute(
            "SELECT weight FROM links WHERE src=? AND dst=? AND kind=?", (note_id, dst, kind)
        ).fetchone()
        return "null" if row is None else json.dumps(float(row[0]))
    if field not in NOTE_FIELDS:
        raise InvalidInput(f"cannot change field {field!r}; derived fields are {NOTE_FIELDS}")
    row = db.execute(f"SELECT {field} FROM notes WHERE id=?", (note_id,)).fetchone()
    if row is None:
        raise NotFound(f"no note with id {note_id!r}")
    return str(row[0])


def _set(db: sqlite3.Connection, note_id: str, field: str, value: str) -> int:
    """Write a field; returns the note's label (for the ops log)."""
    label = int(db.execute("SELECT label FROM notes WHERE id=?", (note_id,)).fetchone()[0])
    if field.startswith("link:"):
        _, dst, kind = field.split(":", 2)
        weight = json.loads(value)
        if weight is None:
            db.execute("DELETE FROM links WHERE src=? AND dst=? AND kind=?", (note_id, dst, kind))
        elif existing(db, [dst]):
            db.execute(
                "INSERT INTO links(src, dst, kind, weight, created_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(src, dst, kind) DO UPDATE SET weight=excluded.weight",
                (note_id, dst, kind, float(weight), now_iso()),
            )
        else:
            raise NotFound(f"note {dst} no longer exists, so the link to it cannot come back")
        return label
    db.execute(f"UPDATE notes SET {field}=? WHERE id=?", (value, note_id))
    if field == "tags":
        db.execute("DELETE FROM note_tags WHERE label=?", (label,))
        db.executemany(
            "INSERT OR IGNORE INTO note_tags(label, tag) VALUES (?, ?)",
            [(label, tag) for tag in json.loads(value)],
        )
    return label


def apply_change(db: sqlite3.Connection, change: Change) -> Change | None:
    """Apply one change and log it with before/after; None when it changes nothing."""
    if not existing(db, [change.note_id]):
        return None
    before = _current(db, change.note_id, change.field)
    if before == change.after:
        return None
    if change.field == "status" and before == "quarantined" and change.before != before:
        # Only a change planned from quarantine (review's approve) releases a held note:
        # a supersede planned against an active note never turns one into "superseded".
        return None
    _set(db, change.note_id, change.field, change.after)
    logged = Change(change.note_id, change.field, before, change.after, change.reason,
                    change_id=new_id(), at=now_iso())  # fmt: skip
    db.execute(
        "INSERT INTO history(change_id, note_id, field, before, after, reason, at) "
        "VALUES (?,?,?,?,?,?,?)",
        (logged.change_id, logged.note_id, logged.field, logged.before, logged.after,
         logged.reason, logged.at),
    )  # fmt: skip
    return logged


def history_of(db: sqlite3.Connection, note_id: str) -> list[Change]:
    rows = db.execute(
        "SELECT change_id, note_id, field, before, after, reason, at, reverted_by FROM history "
        "WHERE note_id=? ORDER BY at, change_id",
        (note_id,),
    ).fetchall()
    return [Change(r[1], r[2], r[3], r[4], r[5], r[0], r[6], r[7]) for r in rows]


def revert(db: sqlite3.Connection, change_id: str) -> Change:
    """Undo one change, if the field still holds what the change wrote."""
    row = db.execute(
        "SELECT note_id, field, before, after, reverted_by FROM history WHERE change_id=?",
        (change_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no change with id {change_id!r}", hint="list_changes")
    note_id, field, before, after, reverted_by = row
    if reverted_by:
        raise InvalidInput(f"change {change_id} was already reverted by {reverted_by}")
    if _current(db, note_id, field) != after:
        raise InvalidInput(
            f"{field} of {note_id} changed again after {change_id}; revert the later changes "
            "first (see `mem history`)"
        )
    undo = apply_change(db, Change(note_id, field, after, before, f"revert of {change_id}"))
    assert undo is not None
    db.execute("UPDATE history SET reverted_by=? WHERE change_id=?", (undo.change_id, change_id))
    if field == "status" and after == "superseded":
        _unlink_superseder(db, note_id, reason_of(db, change_id), change_id)
    return undo


def reason_of(db: sqlite3.Connection, change_id: str) -> str:
    row = db.execute("SELECT reason FROM history WHERE change_id=?", (change_id,)).fetchone()
    return str(row[0]) if row else ""


def _unlink_superseder(db: sqlite3.Connection, note_id: str, reason: str, change_id: str) -> None:
    """A note that is no longer superseded loses the `supersedes` link to it, as a logged
    change of the superseding note (reverting that change puts the link back)."""
    named = _SUPERSEDED_BY.match(reason)
    if named is None:
        return
    why = f"revert of {change_id}: {note_id} is no longer superseded"
    apply_change(db, Change(named.group(1), f"link:{note_id}:supersedes", "", "null", why))
