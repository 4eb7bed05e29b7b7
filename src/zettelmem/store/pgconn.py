"""Connecting to PostgreSQL: the store URL's rules, a pool per URL, and SQL spoken in
the record's dialect.

The record's queries (store/records.py, links.py, threads.py, verdicts.py, insights.py,
portable.py) are written once, in the SQL that SQLite and PostgreSQL share, with a few
SQLite spellings. ``PgConnection`` runs them on a psycopg 3 connection, rewriting those
spellings (``?`` placeholders, ``INSERT OR IGNORE``/``OR REPLACE``, ``IS NOT 'x'``,
``instr``, two-argument ``MAX``, ``lastrowid``): one home per rule, and both stores run
the very same logic. Credentials never pass through here (config.check_store_url refuses
a URL with a password); libpq reads PGPASSWORD, ~/.pgpass, PGSSLMODE and the rest itself.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from zettelmem.errors import HomeError, StoreUnreachable

# The primary key of each table an ``INSERT OR REPLACE`` writes to.
_KEYS = {"meta": ("key",), "embeddings": ("label",), "verdicts": ("note_id",)}
# A replaced vector's pgvector copy is made again from the new bytes (see postgres.py).
_EXTRA_SET = {"embeddings": ", embedding = NULL"}


def shown(url: str) -> str:
    """The URL as messages show it: user, host and database, never a password or query."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    if parts.hostname:
        return f"{parts.scheme}://{user}{parts.hostname}{port}{parts.path}"
    # No host in the URL: a Unix socket, named by ?host=/dir (else libpq's default one),
    # never "localhost", which would send the reader to a TCP port.
    socket = next((v for k, v in parse_qsl(parts.query) if k == "host" and v), None)
    where = f"?host={socket}" if socket else ""
    return f"{parts.scheme}://{user}{port}{parts.path}{where}"


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """A record query in PostgreSQL's spelling (see the module docstring)."""
    out = sql.replace("%", "%%").replace("?", "%s")
    out = out.replace("IS NOT 'approved'", "IS DISTINCT FROM 'approved'")
    out = out.replace("instr(content, ':')", "strpos(content, ':')")
    out = out.replace("MAX(weight, excluded.weight)", "GREATEST(links.weight, excluded.weight)")
    out = re.sub(r"IN \(\s*\)", "IN (NULL)", out)
    out = re.sub(r"\b(WHERE|AND) 0(?![\d.])", r"\1 FALSE", out)  # SQLite's false
    out = out.replace(" LIKE ", " ILIKE ")  # SQLite's LIKE ignores ASCII case
    if out.lstrip().startswith("INSERT OR IGNORE INTO"):
        out = out.replace("INSERT OR IGNORE INTO", "INSERT INTO", 1) + " ON CONFLICT DO NOTHING"
    replace = re.match(r"\s*INSERT OR REPLACE INTO (\w+)\(([^)]*)\)", out)
    if replace:
        table, columns = replace.group(1), [c.strip() for c in replace.group(2).split(",")]
        keys = _KEYS[table]
        sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        out = (out.replace("INSERT OR REPLACE INTO", "INSERT INTO", 1)
               + f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
               + _EXTRA_SET.get(table, ""))  # fmt: skip
    if re.match(r"\s*INSERT INTO notes\(", out):
        out += " RETURNING label"
    return out


class Row(tuple):  # type: ignore[type-arg]
    """A result row read by position or by column name (as sqlite3.Row is)."""

    names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row.names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self.names[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self.names)


def row_factory(cursor: Any) -> Any:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}
    return lambda values: Row(values, names)


class Cursor:
    """The part of a sqlite3 cursor the record uses: fetch, iterate, rowcount, lastrowid."""

    def __init__(self, cursor: Any, returning: bool) -> None:
        self._cursor = cursor
        self.lastrowid: int | None = None
        if returning:
            row = cursor.fetchone()
            self.lastrowid = None if row is None else int(row[0])

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class PgConnection:
    """A pooled psycopg connection that runs the record's queries (see ``translate``).

    A connection the server dropped (a restart, a failover) is swapped for a fresh one
    before the next statement; an error meanwhile is one HomeError line, as the doors
    expect, and the transaction it was in is rolled back by the server.
    """

    def __init__(self, url: str, conn: Any) -> None:
        self.url = url
        self._conn = conn

    @property
    def conn(self) -> Any:
        """The connection, replaced first if it broke (never inside a transaction)."""
        if self._conn.broken or self._conn.closed:
            old, self._conn = self._conn, connect(self.url, probe=True)
            release(self.url, old)
        return self._conn

    def close(self) -> None:
        release(self.url, self._conn)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        import psycopg

        query = translate(sql)
        args = list(params) if params else None
        conn = self.conn
        # A read outside any transaction may be asked again on a fresh connection: one
        # the server dropped while it sat idle (a restart, a failover) then costs no call.
        again = _reads(query) and _idle(conn)
        with lost_connection(self.url, writing=not again):
            try:
                cursor = conn.execute(query, args)
            except psycopg.OperationalError:
                if not again:
                    raise
                self._conn = connect(self.url, probe=True)
                release(self.url, conn)
                cursor = self._conn.execute(query, args)
            return Cursor(cursor, query.endswith("RETURNING label"))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]] | Iterator[Any]) -> Cursor:
        batch = [list(r) for r in rows]
        with lost_connection(self.url):
            cursor = self.conn.cursor()
            if batch:
                cursor.executemany(translate(sql), batch)
            return Cursor(cursor, False)


def _reads(query: str) -> bool:
    return query.lstrip()[:6].upper() in ("SELECT", "WITH R") and " FOR UPDATE" not in query


def _idle(conn: Any) -> bool:
    """Outside any transaction (autocommit, no block open): a statement stands alone."""
    from psycopg import pq

    return bool(conn.info.transaction_status == pq.TransactionStatus.IDLE)


@contextmanager
def lost_connection(url: str, writing: bool = True) -> Iterator[None]:
    """psycopg's OperationalError (the server went away) as one HomeError line."""
    import psycopg

    try:
        yield
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        undone = "; a write under way was rolled back" if writing else ""
        raise StoreUnreachable(
            f"lost the connection to {shown(url)} ({reason}){undone}: check that the server "
            "runs, then try again"
        ) from None


_POOLS: dict[str, Any] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(url: str) -> Any:
    """The process's connection pool for a URL (servers open a Memory per worker thread;
    each takes a connection from here and gives it back on close)."""
    from psycopg_pool import ConnectionPool

    # The pool's warnings (a dropped connection discarded, a reconnect that failed) would
    # surround the one Error line a command prints about the same outage.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    with _POOLS_LOCK:
        pool = _POOLS.get(url)
        if pool is None:
            pool = ConnectionPool(
                url, min_size=0, max_size=8, open=False, timeout=30.0,
                kwargs={"autocommit": True, "row_factory": row_factory},
                check=ConnectionPool.check_connection,
            )  # fmt: skip
            pool.open()
            _POOLS[url] = pool
        return pool


def connect(url: str, probe: bool = False) -> Any:
    """A checked-out connection, or one HomeError line naming the server and the fix.
    ``probe``: reach the server directly first even when its pool exists (after a
    connection broke: a server that is down fails at once, not after the pool's wait)."""
    try:
        import psycopg
    except ImportError:
        raise HomeError(
            "a postgresql:// store needs psycopg: pip install 'zettelmem[postgres]'"
        ) from None
    try:
        if probe or url not in _POOLS:
            # Reach the server once directly, so a wrong URL fails at once with libpq's
            # reason (a pool would retry until its timeout).
            psycopg.connect(url, connect_timeout=10).close()
        return pool_for(url).getconn()
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise StoreUnreachable(
            f"cannot connect to {shown(url)} ({reason}); check the URL, that the server "
            "runs, and PGPASSWORD or ~/.pgpass"
        ) from None


def release(url: str, conn: Any) -> None:
    """Give a connection back to its pool (closed if it is broken or mid-transaction)."""
    pool = _POOLS.get(url)
    if pool is None:
        conn.close()
        return
    pool.putconn(conn)


def close_pools(url: str | None = None) -> None:
    """Close the pool of one URL (every pool when None): before a database is dropped."""
    with _POOLS_LOCK:
        for key in [url] if url is not None else list(_POOLS):
            pool = _POOLS.pop(key, None)
            if pool is not None:
                pool.close()
