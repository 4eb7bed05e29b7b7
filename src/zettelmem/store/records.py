"""The canonical record: notes, links, history, the ops log and meta in SQLite (WAL)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from zettelmem.errors import HomeError, NotFound, read_only_home
from zettelmem.ids import new_id
from zettelmem.models import Change, Filters, Link, NewNote, Note, Op, StoredVerdict, WriteOutcome
from zettelmem.store import conversations, forgotten, tokens, verdicts
from zettelmem.store.insights import InsightRecords
from zettelmem.store.links import (
    apply_change,
    history_of,
    insert_links,
    links_of,
    revert,
)
from zettelmem.store.portable import PortableRecords
from zettelmem.store.sqlutil import select_in
from zettelmem.store.threads import (
    CONTEXT_DEPTH,
    THREADS_BY_CONVERSATION,
    bridge_gap,
    context_vectors,
    followers,
    link_to_previous,
    own_vectors,
    preceding,
    rethread,
    thread_of,
)
from zettelmem.store.tokens import TokenRecords
from zettelmem.store.unfinished import UnfinishedRecords
from zettelmem.store.verdicts import VerdictRecords
from zettelmem.timeutil import is_stored, now_iso

SCHEMA_VERSION = 5
TAGS_FOLDED = "tags_folded"  # meta: every stored tag is in lower case
# The most of notes.db read through a memory map (SQLite caps it at its own build limit,
# 2 GB by default); pages past it are read as usual.
MMAP_BYTES = 1 << 31

_MIGRATIONS: list[str] = [
    # 1: the first schema.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE notes (
        label INTEGER PRIMARY KEY AUTOINCREMENT,  -- vector-index key, never reused
        id TEXT NOT NULL UNIQUE,
        content TEXT NOT NULL,
        created_at TEXT NOT NULL,
        event_at TEXT,
        scope TEXT NOT NULL,
        source TEXT NOT NULL,
        keywords TEXT NOT NULL DEFAULT '[]',
        tags TEXT NOT NULL DEFAULT '[]',
        context TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'active',
        dedupe_key TEXT,
        thread TEXT  -- the conversation or file it came from (see store/threads.py)
    );
    -- Kept apart so that scans of notes stay small.
    CREATE TABLE embeddings (
        label INTEGER PRIMARY KEY REFERENCES notes(label) ON DELETE CASCADE,
        vector BLOB NOT NULL
    );
    CREATE INDEX notes_status ON notes(status);
    CREATE INDEX notes_when ON notes(COALESCE(event_at, created_at));
    CREATE INDEX notes_thread ON notes(scope, thread, label) WHERE thread IS NOT NULL;
    CREATE UNIQUE INDEX notes_dedupe ON notes(scope, dedupe_key) WHERE dedupe_key IS NOT NULL;
    CREATE INDEX notes_scope ON notes(scope, event_at);
    CREATE TABLE note_tags (
        label INTEGER NOT NULL REFERENCES notes(label) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (tag, label)
    );
    CREATE TABLE links (
        src TEXT NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
        dst TEXT NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        weight REAL NOT NULL DEFAULT 1.0,
        created_at TEXT NOT NULL,
        PRIMARY KEY (src, dst, kind)
    );
    CREATE INDEX links_dst ON links(dst);
    CREATE TABLE history (
        change_id TEXT PRIMARY KEY,
        note_id TEXT NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
        field TEXT NOT NULL,
        before TEXT,
        after TEXT,
        reason TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL,
        reverted_by TEXT
    );
    CREATE INDEX history_note ON history(note_id);
    -- Only ids, never content: forgetting a note must not leave its text here.
    CREATE TABLE ops (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        -- upsert: text and vector changed, revector: only the context vector, delete
        op TEXT NOT NULL CHECK (op IN ('upsert', 'revector', 'delete')),
        label INTEGER NOT NULL,
        note_id TEXT NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # 2: the guard's verdicts and lessons.
    verdicts.SCHEMA,
    # 3: access tokens (their hashes) and grants.
    tokens.SCHEMA,
    # 4: the fingerprints of forgotten notes' dedupe keys.
    forgotten.SCHEMA,
    # 5: the version of each conversation imported from a chat export.
    conversations.SCHEMA,
]

_NOTE_COLUMNS = (
    "label, id, content, created_at, event_at, scope, source, keywords, tags, context, status"
)


def _words(raw: object) -> tuple[str, ...]:
    """A JSON list of strings from the record; a damaged value reads as empty, never raises
    (`mem doctor` reports it)."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        return ()
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _row_to_note(row: sqlite3.Row) -> Note:
    return Note(
        label=row["label"],
        id=row["id"],
        content=row["content"],
        created_at=row["created_at"],
        event_at=row["event_at"] if is_stored(row["event_at"]) else None,
        scope=row["scope"],
        source=row["source"],
        keywords=_words(row["keywords"]),
        tags=_words(row["tags"]),
        context=row["context"],
        status=row["status"],
    )


class Records(
    VerdictRecords,
    InsightRecords,
    PortableRecords,
    TokenRecords,
    forgotten.ForgottenRecords,
    conversations.ConversationRecords,
    UnfinishedRecords,
):
    """The SQLite record. Every write is one transaction that also appends to ops."""

    tags_folded = False  # every stored tag is lower case (see fold_tags)

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        # SQLite itself refuses writes to a read-only connection, whoever runs it. Without
        # a WAL file no writer is at work: `immutable` then reads without creating one
        # (a read-only folder could not hold it).
        wal = path.with_name(path.name + "-wal")
        flags = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
        target = f"{path.resolve().as_uri()}?{flags}" if read_only else str(path)
        try:
            # check_same_thread=False: a server hands one Memory to a worker thread;
            # callers serialise access (Memory is not thread-safe).
            self.db = sqlite3.connect(
                target, timeout=60.0, isolation_level=None, check_same_thread=False,
                uri=read_only,
            )  # fmt: skip
        except sqlite3.OperationalError as exc:
            raise HomeError(
                f"cannot open {path} ({exc}); check the home directory's permissions"
            ) from None
        self.db.row_factory = sqlite3.Row
        # SQLite's lower() folds ASCII only; PostgreSQL's, like Python's, every letter (a tag
        # filter matches "Äpfel" as "äpfel" in both records).
        self.db.create_function("lower", 1, _lower, deterministic=True)
        self._configure()
        self._migrate()
        self.fold_tags()
        self.thread_conversations()

    def _configure(self) -> None:
        try:
            self.db.execute("PRAGMA busy_timeout = 60000")
            # Reads through a memory map of the file instead of a read() per page: the
            # scattered rows a recall or a bulk import's linking reads cost about half.
            self.db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            if self.read_only:
                self.db.execute("PRAGMA foreign_keys = ON")
                return
            self._enter_wal()
            self.db.execute("PRAGMA synchronous = FULL")
            self.db.execute("PRAGMA foreign_keys = ON")
            # Overwrite deleted content with zeros: forgotten text must not linger.
            self.db.execute("PRAGMA secure_delete = ON")
        except sqlite3.DatabaseError as exc:
            raise HomeError(
                # SQLite may quote a damaged schema, newlines and all: keep it one line.
                f"{self.path} is not a usable SQLite database ({' '.join(str(exc).split())}); "
                "move it away and "
                "re-import, or point --home elsewhere"
            ) from None

    def _enter_wal(self) -> None:
        """Switch to WAL; two processes creating one home at once may be told 'locked'
        without SQLite's busy handler being called, so wait and retry."""
        deadline = time.monotonic() + 60.0
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self.db.close()

    def usable_in_this_thread(self) -> bool:
        """False when the connection belongs to another thread (SQLite's same-thread rule)."""
        try:
            self.db.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return False
        return True

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        if self.read_only:
            raise read_only_home(self.path.parent)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: every query inside sees the same committed state."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def _migrate(self) -> None:
        if self.read_only:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None or int(row[0]) != SCHEMA_VERSION:
                raise HomeError(f"{self.path} needs an upgrade to be read, and it is read-only; "
                                "open a writable copy once")  # fmt: skip
            return
        with self.transaction() as db:
            has_meta = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
            ).fetchone()
            version = 0
            if has_meta:
                row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise HomeError(
                    f"{self.path} was written by a newer zettelmem (schema {version}); upgrade "
                    "zettelmem to open it"
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in _split_sql(_MIGRATIONS[number]):
                    db.execute(statement)
            if version < SCHEMA_VERSION:
                db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )

    def fold_tags(self) -> None:
        """Tags are written in lower case; fold the tags a store holds from before, once
        (then a tag filter is an indexed look-up, not a scan of every tag). A read-only
        store not folded yet is filtered by each tag's lower case instead."""
        self.tags_folded = self.get_meta(TAGS_FOLDED) == "1"
        if self.tags_folded or self.read_only:
            return
        with self.transaction() as db:
            db.execute("INSERT INTO note_tags(label, tag) SELECT label, lower(tag) FROM "
                       "note_tags WHERE tag <> lower(tag) ON CONFLICT DO NOTHING")  # fmt: skip
            db.execute("DELETE FROM note_tags WHERE tag <> lower(tag)")
        self.set_meta(TAGS_FOLDED, "1")
        self.tags_folded = True

    def thread_conversations(self) -> None:
        """Once per store: the notes of chat exports stored when their thread named the
        file take their conversation's thread, so a later import of the conversation
        from a file of another name continues it. A read-only store waits."""
        if self.read_only or self.get_meta(THREADS_BY_CONVERSATION) == "1":
            return
        with self.transaction() as db:
            rethread(db)
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, '1')",
                       (THREADS_BY_CONVERSATION,))  # fmt: skip

    # -- meta ---------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- writes -------------------------------------------------------------

    def insert_notes(
        self, notes: Sequence[NewNote], embeddings: np.ndarray
    ) -> list[tuple[Note, bool]]:
        """Store notes in one transaction; returns (note, created) pairs."""
        return self.write(notes, embeddings).notes

    def write(
        self,
        notes: Sequence[NewNote],
        embeddings: np.ndarray,
        links: Sequence[Link] = (),
        changes: Sequence[Change] = (),
        judged: Sequence[StoredVerdict] = (),
    ) -> WriteOutcome:
        """Notes, their links and the changes they cause to others, in one transaction.

        A note whose (scope, dedupe_key) is already stored is not written
        again: the stored note comes back with created=False, and links and
        changes planned by it are dropped.
        """
        out: list[tuple[Note, bool]] = []
        with self.transaction() as db:
            for new, vector in zip(notes, embeddings):
                existing = self._find_duplicate(new)
                if existing is not None:
                    out.append((existing, False))
                    continue
                out.append((self._insert_one(db, new, vector), True))
            made = {note.id for note, created in out if created}
            planned = {new.id for new in notes if new.id}
            dropped = planned - made
            stored = insert_links(
                db, [x for x in links if x.src not in dropped and x.dst not in dropped]
            )
            logged = [
                c for c in (apply_change(db, ch) for ch in changes if ch.cause not in dropped)
                if c is not None
            ]  # fmt: skip
            verdicts.put_verdicts(db, [v for v in judged if v.note_id in made])
        return WriteOutcome(out, stored, logged)

    def links_of(self, note_id: str) -> list[Link]:
        return links_of(self.db, note_id)

    def adjacent(self, ids: Sequence[str], kinds: Sequence[str]) -> list[Link]:
        """Links of these kinds that start or end at one of these notes."""
        marks_k = ",".join("?" * len(kinds))
        rows = select_in(
            self.db,
            f"SELECT src, dst, kind, weight FROM links WHERE kind IN ({marks_k}) "
            "AND (src IN ({marks}) OR dst IN ({marks})) ORDER BY src, dst, kind",
            ids,
            before=kinds,
        )
        return [Link(r[0], r[1], r[2], float(r[3])) for r in rows]

    def derived_from(self, ids: Sequence[str]) -> list[str]:
        """Ids of the notes (insights) linked `derived_from` any of these notes."""
        rows = select_in(
            self.db,
            "SELECT DISTINCT src FROM links WHERE kind='derived_from' AND dst IN ({marks})",
            ids,
        )
        return list(dict.fromkeys(r[0] for r in rows))

    def superseded_by(self, moment: str) -> set[int]:
        """Labels of notes a note from no later than ``moment`` supersedes."""
        rows = self.db.execute(
            "SELECT old.label FROM links l JOIN notes new ON new.id = l.src "
            "JOIN notes old ON old.id = l.dst WHERE l.kind = 'supersedes' "
            "AND COALESCE(new.event_at, new.created_at) <= ?",
            (moment,),
        ).fetchall()
        return {int(r[0]) for r in rows}

    def labels_of(self, ids: Sequence[str]) -> dict[str, int]:
        rows = select_in(self.db, "SELECT id, label FROM notes WHERE id IN ({marks})", ids)
        return {r[0]: int(r[1]) for r in rows}

    @contextmanager
    def bulk_writes(self, expected: int) -> Iterator[None]:
        """Many notes are about to be written (a restore): nothing to prepare here; the
        database record builds its vector index once at the end when that pays."""
        yield

    def ids_at(self, labels: Sequence[int]) -> dict[int, str]:
        """Each note's id by label (the reverse of labels_of)."""
        rows = select_in(self.db, "SELECT label, id FROM notes WHERE label IN ({marks})", labels)
        return {int(r[0]): str(r[1]) for r in rows}

    def passing(self, labels: Sequence[int], filters: Filters) -> set[int]:
        """The labels among these that pass the filters."""
        clauses, args = _filter_sql(filters, self.tags_folded)
        where = " AND ".join(["label IN ({marks})", *clauses])
        rows = select_in(self.db, f"SELECT label FROM notes WHERE {where}", labels, after=args)
        return {int(r[0]) for r in rows}

    def apply_changes(self, changes: Sequence[Change]) -> list[Change]:
        with self.transaction() as db:
            return [c for c in (apply_change(db, ch) for ch in changes) if c is not None]

    def history(self, note_id: str) -> list[Change]:
        self.get(note_id)
        return history_of(self.db, note_id)

    def revert(self, change_id: str) -> Change:
        with self.transaction() as db:
            return revert(db, change_id)

    def duplicates(self, notes: Sequence[NewNote]) -> dict[str | None, tuple[Note, bool]]:
        """Notes of the batch that are stored already, by dedupe key (as (note, False))."""
        out: dict[str | None, tuple[Note, bool]] = {}
        for new in notes:
            found = self._find_duplicate(new)
            if found is not None:
                out[new.dedupe_key] = (found, False)
        return out

    def active_in_thread(self, scope: str, thread: str) -> list[Note]:
        """The active notes of one thread of a scope (a conversation's, a document's)."""
        rows = self.db.execute(
            f"SELECT {_NOTE_COLUMNS} FROM notes WHERE scope=? AND thread=? "
            "AND status='active' ORDER BY label",
            (scope, thread),
        ).fetchall()
        return [_row_to_note(row) for row in rows]

    def _find_duplicate(self, new: NewNote) -> Note | None:
        if new.dedupe_key is None:
            return None
        row = self.db.execute(
            f"SELECT {_NOTE_COLUMNS} FROM notes WHERE scope=? AND dedupe_key=?",
            (new.scope, new.dedupe_key),
        ).fetchone()
        return None if row is None else _row_to_note(row)

    def _insert_one(self, db: sqlite3.Connection, new: NewNote, vector: np.ndarray) -> Note:
        note_id, created = new.id or new_id(), now_iso()
        cursor = db.execute(
            "INSERT INTO notes(id, content, created_at, event_at, scope, source, keywords, tags,"
            " context, dedupe_key, thread, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                note_id,
                new.content,
                created,
                new.event_at,
                new.scope,
                new.source,
                json.dumps(list(new.keywords)),
                json.dumps(list(new.tags)),
                new.context,
                new.dedupe_key,
                thread_of(new.source),
                new.status,
            ),
        )
        label = int(cursor.lastrowid or 0)
        db.execute(
            "INSERT INTO embeddings(label, vector) VALUES (?, ?)",
            (label, np.asarray(vector, dtype=np.float32).tobytes()),
        )
        link_to_previous(
            db,
            note_id,
            label,
            new.scope,
            thread_of(new.source),
            new.event_at,
            created,
            new.status,
        )
        db.executemany(
            "INSERT OR IGNORE INTO note_tags(label, tag) VALUES (?, ?)",
            [(label, tag) for tag in new.tags],
        )
        self._append_op(db, "upsert", label, note_id)
        return Note(
            label=label,
            id=note_id,
            content=new.content,
            created_at=created,
            event_at=new.event_at,
            scope=new.scope,
            source=new.source,
            keywords=new.keywords,
            tags=new.tags,
            context=new.context,
            status=new.status,
        )

    @staticmethod
    def _append_op(db: sqlite3.Connection, op: str, label: int, note_id: str) -> None:
        db.execute(
            "INSERT INTO ops(op, label, note_id, at) VALUES (?,?,?,?)",
            (op, label, note_id, now_iso()),
        )

    def delete_notes(self, ids: Sequence[str]) -> list[Note]:
        """Remove notes with their links, tags and history; returns what was removed."""
        notes = self.get_many(ids)
        gone = {note.id for note in notes}
        with self.transaction() as db:
            touched = [f for f in followers(db, gone, CONTEXT_DEPTH) if f[1] not in gone]
            # An import of the same export must not bring them back.
            forgotten.bury(db, [note.label for note in notes], now_iso())
            for note in notes:
                bridge_gap(db, note.id, now_iso())
                db.execute("DELETE FROM notes WHERE label=?", (note.label,))
                self._append_op(db, "delete", note.label, note.id)
            # Their context vectors mixed in a forgotten note: derive them again.
            for label, note_id in touched:
                self._append_op(db, "revector", label, note_id)
        return notes

    def set_embeddings(self, labels: Sequence[int], vectors: np.ndarray) -> None:
        """Replace stored vectors (re-embedding); every changed note goes to the ops log."""
        with self.transaction() as db:
            for label, vector in zip(labels, vectors):
                row = db.execute("SELECT id FROM notes WHERE label=?", (label,)).fetchone()
                if row is None:
                    continue
                db.execute(
                    "INSERT OR REPLACE INTO embeddings(label, vector) VALUES (?, ?)",
                    (label, np.asarray(vector, dtype=np.float32).tobytes()),
                )
                self._append_op(db, "revector", label, row[0])
                for f_label, f_id in followers(db, [row[0]], CONTEXT_DEPTH):
                    self._append_op(db, "revector", f_label, f_id)

    def checkpoint(self) -> None:
        """Fold the WAL into the database file (after forgetting, so no copy lingers)."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- reads --------------------------------------------------------------

    def get(self, note_id: str) -> Note:
        row = self.db.execute(
            f"SELECT {_NOTE_COLUMNS} FROM notes WHERE id=?", (note_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no note with id {note_id!r}", hint="find_ids")
        return _row_to_note(row)

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Up to ``limit`` note ids that start with ``prefix`` (ids are [0-9a-z])."""
        if not prefix.isalnum():
            return []
        rows = self.db.execute(
            "SELECT id FROM notes WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (prefix, prefix + "~", limit),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def get_many(self, ids: Sequence[str]) -> list[Note]:
        """Notes for ids, in the given order; any unknown id raises NotFound."""
        return [self.get(note_id) for note_id in ids]

    def by_labels(self, labels: Sequence[int]) -> dict[int, Note]:
        sql = f"SELECT {_NOTE_COLUMNS} FROM notes WHERE label IN ({{marks}})"
        return {row["label"]: _row_to_note(row) for row in select_in(self.db, sql, labels)}

    def context_vectors(self, labels: Sequence[int]) -> dict[int, np.ndarray]:
        """The vectors the vector index holds: own vector mixed with the notes followed."""
        return context_vectors(self.db, labels)

    def preceding(self, labels: Sequence[int], depth: int) -> dict[int, list[int]]:
        """Each note's earlier turns in its thread, nearest first (at most ``depth``)."""
        return preceding(self.db, labels, depth)

    def contents(self, labels: Sequence[int]) -> dict[int, str]:
        """Each note's text by label (cheaper than whole notes for a candidate pool)."""
        rows = select_in(
            self.db, "SELECT label, content FROM notes WHERE label IN ({marks})", labels
        )
        return {int(r[0]): str(r[1]) for r in rows}

    def scopes_of(self, labels: Sequence[int]) -> dict[int, str]:
        """Each note's scope by label (the vector index files vectors by scope)."""
        rows = select_in(self.db, "SELECT label, scope FROM notes WHERE label IN ({marks})", labels)
        return {int(r[0]): str(r[1]) for r in rows}

    def vectors(self, labels: Sequence[int]) -> dict[int, np.ndarray]:
        return own_vectors(self.db, labels)

    def iter_notes(self, batch: int = 1000) -> Iterator[tuple[Note, np.ndarray | None]]:
        """Every note with its stored vector, in label order (for rebuilds)."""
        last = 0
        while True:
            rows = self.db.execute(
                f"SELECT {_NOTE_COLUMNS}, e.vector AS embedding FROM notes "
                "LEFT JOIN embeddings e USING (label) WHERE label > ? ORDER BY label LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                blob = row["embedding"]
                vector = np.frombuffer(blob, dtype=np.float32) if blob else None
                yield _row_to_note(row), vector
            last = rows[-1]["label"]

    def list_notes(self, scope: str | None, limit: int, offset: int = 0) -> list[Note]:
        where, args = ("WHERE scope=?", [scope]) if scope else ("", [])
        rows = self.db.execute(
            f"SELECT {_NOTE_COLUMNS} FROM notes {where} ORDER BY label DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return [_row_to_note(row) for row in rows]

    def count(self, scope: str | None = None) -> int:
        if scope:
            return int(
                self.db.execute("SELECT COUNT(*) FROM notes WHERE scope=?", (scope,)).fetchone()[0]
            )
        return int(self.db.execute("SELECT COUNT(*) FROM notes").fetchone()[0])

    def stats(self) -> dict[str, object]:
        db = self.db
        by_status = dict(
            db.execute("SELECT status, COUNT(*) FROM notes GROUP BY status").fetchall()
        )
        by_scope = dict(
            db.execute(
                "SELECT scope, COUNT(*) FROM notes GROUP BY scope ORDER BY 2 DESC"
            ).fetchall()
        )
        return {
            "notes": self.count(),
            "by_status": by_status,
            "scopes": by_scope,
            "links": int(db.execute("SELECT COUNT(*) FROM links").fetchone()[0]),
            "history": int(db.execute("SELECT COUNT(*) FROM history").fetchone()[0]),
            "ops_head": self.ops_head(),
        }

    def matching_labels(self, filters: Filters) -> set[int]:
        """Labels of notes that pass the filters (for the vector search)."""
        clauses, args = _filter_sql(filters, self.tags_folded)
        sql = "SELECT label FROM notes"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return {row[0] for row in self.db.execute(sql, args)}

    # -- ops log ------------------------------------------------------------

    def ops_head(self) -> int:
        row = self.db.execute("SELECT MAX(seq) FROM ops").fetchone()
        return int(row[0] or 0)

    def op_mark(self, seq: int) -> str:
        """What names the op at a sequence ('' for none): its kind, label and note id.

        Note ids carry random bits, so another copy of the record holds another op there.
        """
        row = self.db.execute("SELECT op, label, note_id FROM ops WHERE seq=?", (seq,)).fetchone()
        return "" if row is None else f"{row[0]}:{row[1]}:{row[2]}"

    def ops_since(self, seq: int, upto: int | None = None) -> list[Op]:
        sql, args = "SELECT seq, op, label, note_id FROM ops WHERE seq > ?", [seq]
        if upto is not None:
            sql += " AND seq <= ?"
            args.append(upto)
        rows = self.db.execute(sql + " ORDER BY seq", args).fetchall()
        return [Op(r[0], r[1], r[2], r[3]) for r in rows]


def _filter_sql(filters: Filters, folded: bool = True) -> tuple[list[str], list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    if filters.scope is not None:
        clauses.append("scope = ?")
        args.append(filters.scope)
    if filters.scopes is not None:
        clauses.append(f"scope IN ({','.join('?' * len(filters.scopes))})" if filters.scopes
                       else "0")  # fmt: skip
        args.extend(filters.scopes)
    if filters.statuses:
        clauses.append(f"status IN ({','.join('?' * len(filters.statuses))})")
        args.extend(filters.statuses)
    if filters.since is not None:
        clauses.append("COALESCE(event_at, created_at) >= ?")
        args.append(filters.since)
    if filters.until is not None:
        clauses.append("COALESCE(event_at, created_at) <= ?")
        args.append(filters.until)
    for tag in filters.tags:
        # Tags are written in lower case (and folded once in a store written before, where
        # "Travel" was stored as given): an indexed look-up.
        column = "tag" if folded else "lower(tag)"
        clauses.append(f"label IN (SELECT label FROM note_tags WHERE {column} = ?)")
        args.append(tag.lower())
    return clauses, args


def _lower(text: str | None) -> str | None:
    return text.lower() if isinstance(text, str) else text


def _split_sql(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
