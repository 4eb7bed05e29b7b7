"""The canonical record in PostgreSQL: the same RecordStore as the SQLite record, shared
by any number of servers and CLI calls.

``PgRecords`` runs the SQLite record's own queries (store/records.py and its mixins)
through ``PgConnection``, so both stores apply one logic to notes, links, history,
verdicts and lessons; what differs is here: connecting, migrating, the transactions,
and the pgvector copy of each vector.

Concurrency. Every write transaction first takes one transaction-level advisory lock
(``pg_advisory_xact_lock``), so writes from all processes run one at a time, as SQLite's
``BEGIN IMMEDIATE`` makes them on one machine. Two reasons, both about correctness:
linking and evolution read (is the note still there? what does the field hold now?)
then write, and two such transactions interleaved under READ COMMITTED could each act
on what the other is removing; and the ops log's sequence numbers are handed out under
the lock, so they commit in order and a server catching up to op n has seen every op
before it (with concurrent writers a later number can commit first, and a reader would
skip the earlier one for good). SERIALIZABLE with retries would give the first but not
the second, and a write is a few milliseconds, so one lock costs little. Reads take no
lock and see the last committed state.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from zettelmem.ids import new_id
from zettelmem.store import pgsearch
from zettelmem.store.derived import IDENTITY_KEY as INDEX_IDENTITY_KEY
from zettelmem.store.pgconn import PgConnection, connect, lost_connection, release, shown
from zettelmem.store.pgschema import SCHEMA_VERSION, WRITE_LOCK, migrate
from zettelmem.store.records import Records

# Names the database (not the server or URL it is reached by): the local cache of its
# derived indexes is kept per identity.
STORE_IDENTITY_KEY = "store_identity"


class PgRecords(Records):
    """The PostgreSQL record. Every write is one transaction, under the write lock, that
    also appends to ops."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = shown(url)
        self.read_only = False
        conn = connect(url)
        try:
            migrate(conn, self.where)
        except BaseException:
            release(url, conn)
            raise
        self.pg: PgConnection | None = PgConnection(url, conn)
        self.db = cast(sqlite3.Connection, self.pg)
        self.indexed_dims: set[int] = set()  # pgvector HNSW indexes made
        self.vector_index_deferred = False  # inside bulk_writes, once the indexes dropped
        if self.get_meta("schema_version") != str(SCHEMA_VERSION):
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        self.fold_tags()
        self.thread_conversations()
        if not pgsearch.current(self):
            # A migration, or a `mem reindex` cut short, left the search tables behind the
            # record: the end of a write transaction fills them.
            with self.transaction():
                pass

    def identity(self) -> str:
        """The database's own name for itself (made on first use)."""
        found = self.get_meta(STORE_IDENTITY_KEY)
        if found is None:
            with self.transaction() as db:
                db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                           (STORE_IDENTITY_KEY, new_id()))  # fmt: skip
            found = self.get_meta(STORE_IDENTITY_KEY)
        return str(found)

    def get_meta(self, key: str) -> str | None:
        """Meta values; the derived indexes' identity is the database's own here."""
        if key == INDEX_IDENTITY_KEY:
            return self.identity()
        return super().get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        """Store a meta value. Not the indexes' identity: every machine keeps its own
        indexes of this one record (in a folder named by the database's identity), and
        one machine rebuilding its indexes must not tell the others that theirs are
        foreign. A record restored under them is still caught by the ops log's marks."""
        if key != INDEX_IDENTITY_KEY:
            super().set_meta(key, value)

    @property
    def conn(self) -> Any:
        """The psycopg connection (a fresh one if the last one broke)."""
        assert self.pg is not None, "the record is closed"
        return self.pg.conn

    def close(self) -> None:
        pg, self.pg = self.pg, None
        if pg is not None:
            pg.close()

    def usable_in_this_thread(self) -> bool:
        """Always: a psycopg connection may move between threads (callers serialise)."""
        return True

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the write lock (see the module docstring)."""
        conn = self.conn
        with lost_connection(self.url), conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield self.db
            pgsearch.catch_up(self, conn)

    @contextmanager
    def bulk_writes(self, expected: int) -> Iterator[None]:
        """``expected`` notes are about to be written in many transactions (a restore, a
        migration): when it pays, the vector index is built once at the end instead of
        taking each vector as it comes (pgsearch.defer_vector_index)."""
        with self.transaction():
            deferred = pgsearch.defer_vector_index(self, self.conn, expected)
        if not deferred:
            yield
            return
        self.vector_index_deferred = True
        try:
            yield
        finally:
            self.vector_index_deferred = False
            with self.transaction():
                pgsearch.build_vector_index(self, self.conn)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: every query inside sees the same committed state."""
        conn = self.conn
        with lost_connection(self.url), conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    def stats(self) -> dict[str, object]:
        return {**super().stats(), "store": self.where}

    def checkpoint(self) -> None:
        """Nothing to fold: PostgreSQL's VACUUM reclaims deleted rows."""
