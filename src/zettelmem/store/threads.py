"""Conversation threads in the record: `follows` links between consecutive notes.

A note that carries a thread key (its source without the last `/part` or
`#part`: the conversation or file it came from) follows the newest earlier
note of the same scope and thread when the two happened close in time. A chat
export's conversation is one thread whichever file it came in: its key is the
conversation's id, not the file's name (see `thread_of`). The
vector index embeds a note together with the notes it follows (see
`context_vectors`): in a dialog, a reply is only understood with the turns
before it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache

import numpy as np

from zettelmem.store.sqlutil import select_in

# Two notes of one thread further apart than this are different sessions.
SESSION_GAP_S = 6 * 3600
# Weight of the note itself, then of the note it follows, then of that one's.
CONTEXT_WEIGHTS = (1.0, 0.5, 0.25)
CONTEXT_DEPTH = len(CONTEXT_WEIGHTS) - 1


# Sources of chat exports, '<format>:<file>#<conversation>/<message>': the file's name
# is provenance, the conversation's id (unique in the export) names the thread.
CHAT_EXPORTS = ("chatgpt:", "claude:", "jsonl:")
# meta: every stored note's thread is the one thread_of gives its source today
THREADS_BY_CONVERSATION = "threads_by_conversation"


@lru_cache(maxsize=65536)  # asked for every pair of notes a write compares
def thread_of(source: str) -> str | None:
    """'locomo:conv-26/D1:3' -> 'locomo:conv-26'; 'notes.txt#4' -> 'notes.txt'; 'cli' -> None;
    'chatgpt:conversations (1).json#c-1/m-2' -> 'chatgpt:#c-1' (the same for any file name)."""
    cut = max(source.rfind("/"), source.rfind("#"))
    if cut <= 0:
        return None
    thread = source[:cut]
    for prefix in CHAT_EXPORTS:
        if thread.startswith(prefix):
            # A message id never holds '/' or '#' (see importers' safe_id); a file name
            # seldom holds '#' and a conversation id may, so the file ends at the first.
            _, hash_, conversation = thread[len(prefix) :].partition("#")
            return f"{prefix}#{conversation}" if hash_ else thread
    return thread


def rethread(db: sqlite3.Connection) -> int:
    """Give every chat export's note the thread thread_of gives its source now (notes
    stored when a thread named the file join their conversation's); returns how many."""
    rows = db.execute(
        "SELECT label, source, thread FROM notes WHERE "
        + " OR ".join("source LIKE ?" for _ in CHAT_EXPORTS),
        [f"{prefix}%" for prefix in CHAT_EXPORTS],
    ).fetchall()
    moved = [(new, int(r[0])) for r in rows if (new := thread_of(str(r[1]))) != r[2]]
    if moved:
        db.executemany("UPDATE notes SET thread=? WHERE label=?", moved)
    return len(moved)


def _close_in_time(before: str | None, after: str | None) -> bool:
    if before is None or after is None:
        return before is None and after is None
    fmt = "%Y-%m-%dT%H:%M:%S"
    try:
        gap = datetime.strptime(after, fmt) - datetime.strptime(before, fmt)
    except ValueError:  # a damaged moment in the record
        return False
    return abs(gap.total_seconds()) <= SESSION_GAP_S


def link_to_previous(
    db: sqlite3.Connection,
    note_id: str,
    label: int,
    scope: str,
    thread: str | None,
    event_at: str | None,
    created_at: str,
    status: str = "active",
) -> None:
    """Add `note -> previous note` (kind follows) when the thread continues.

    A quarantined note stays out of its thread both ways: it follows nothing and
    nothing follows it, so its text never mixes into another note's context vector.
    """
    if thread is None or status == "quarantined":
        return
    row = db.execute(
        "SELECT id, event_at FROM notes WHERE scope=? AND thread=? AND label<? "
        "AND status != 'quarantined' ORDER BY label DESC LIMIT 1",
        (scope, thread, label),
    ).fetchone()
    if row is not None and _close_in_time(row[1], event_at):
        db.execute(
            "INSERT OR IGNORE INTO links(src, dst, kind, weight, created_at) "
            "VALUES (?, ?, 'follows', 1.0, ?)",
            (note_id, row[0], created_at),
        )


def followers(db: sqlite3.Connection, note_ids: Iterable[str], depth: int) -> list[tuple[int, str]]:
    """(label, id) of the notes that follow these within `depth` hops, nearest first."""
    out: list[tuple[int, str]] = []
    frontier = list(note_ids)
    seen = set(frontier)
    for _ in range(depth):
        if not frontier:
            break
        marks = ",".join("?" * len(frontier))
        rows = db.execute(
            f"SELECT n.label, n.id FROM links l JOIN notes n ON n.id = l.src "
            f"WHERE l.kind='follows' AND l.dst IN ({marks})",
            frontier,
        ).fetchall()
        frontier = [r[1] for r in rows if r[1] not in seen]
        seen.update(frontier)
        out.extend((int(r[0]), str(r[1])) for r in rows if r[1] in frontier)
    return out


def bridge_gap(db: sqlite3.Connection, note_id: str, created_at: str) -> None:
    """Before a note goes: its followers follow its predecessor instead."""
    prev = db.execute("SELECT dst FROM links WHERE src=? AND kind='follows'", (note_id,)).fetchone()
    if prev is None:
        return
    for (follower,) in db.execute(
        "SELECT src FROM links WHERE dst=? AND kind='follows'", (note_id,)
    ).fetchall():
        db.execute(
            "INSERT OR IGNORE INTO links(src, dst, kind, weight, created_at) "
            "VALUES (?, ?, 'follows', 1.0, ?)",
            (follower, prev[0], created_at),
        )


def _previous(db: sqlite3.Connection, labels: Sequence[int]) -> dict[int, int]:
    rows = select_in(
        db,
        "SELECT a.label, b.label FROM links l JOIN notes a ON a.id = l.src "
        "JOIN notes b ON b.id = l.dst WHERE l.kind='follows' AND a.label IN ({marks})",
        labels,
    )
    return {int(r[0]): int(r[1]) for r in rows}


def preceding(db: sqlite3.Connection, labels: Sequence[int], depth: int) -> dict[int, list[int]]:
    """Each note's earlier turns in its thread (the notes it follows), nearest first."""
    chains: dict[int, list[int]] = {label: [] for label in labels}
    step = {label: label for label in labels}
    for _ in range(depth):
        prev = _previous(db, list(set(step.values())))
        step = {label: prev[cur] for label, cur in step.items() if cur in prev}
        if not step:
            break
        for label, cur in step.items():
            chains[label].append(cur)
    return chains


def own_vectors(db: sqlite3.Connection, labels: Iterable[int]) -> dict[int, np.ndarray]:
    """The vectors the embedder made for these notes' own content."""
    rows = select_in(
        db, "SELECT label, vector FROM embeddings WHERE label IN ({marks})", list(labels)
    )
    return {int(r[0]): np.frombuffer(r[1], dtype=np.float32) for r in rows if r[1]}


def context_vectors(db: sqlite3.Connection, labels: Sequence[int]) -> dict[int, np.ndarray]:
    """Each note's own vector plus, with decaying weights, those of the notes it follows."""
    chains: dict[int, list[int]] = {label: [label] for label in labels}
    step = {label: label for label in labels}
    for _ in CONTEXT_WEIGHTS[1:]:
        prev = _previous(db, list(set(step.values())))
        step = {label: prev[cur] for label, cur in step.items() if cur in prev}
        for label, cur in step.items():
            chains[label].append(cur)
    own = own_vectors(db, {x for chain in chains.values() for x in chain})
    out: dict[int, np.ndarray] = {}
    for label, chain in chains.items():
        if label not in own:
            continue
        mixed = sum(w * own[x] for w, x in zip(CONTEXT_WEIGHTS, chain) if x in own)
        vector = np.asarray(mixed, dtype=np.float32)
        out[label] = vector / max(float(np.linalg.norm(vector)), 1e-12)
    return out
