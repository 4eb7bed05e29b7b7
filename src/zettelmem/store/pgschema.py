"""The PostgreSQL record's schema and its versioned migrations.

The tables mirror the SQLite record's (store/records.py, verdicts.py) column for column,
so that both run the same queries; text columns sort bytewise (``COLLATE "C"``, as
SQLite does) so ordered reads and id prefixes agree. Every migration step runs in one
transaction under the record's write lock, on first use; a database whose schema is
newer than this code is refused, never downgraded.
"""

from __future__ import annotations

from typing import Any

from zettelmem.errors import HomeError

SCHEMA_VERSION = 5

# The advisory lock every write transaction takes (see postgres.py): one key, 'zmem'.
WRITE_LOCK = 0x7A6D656D

_T = 'TEXT COLLATE "C"'


def _counting(sign: str, table: str) -> str:
    """SQL adding (``+``) or removing (``-``) the rows of a transition table to the search
    statistics: each field's document frequencies and total length, and the count."""
    fields = ("doc", "dated", "win")
    lexemes = " UNION ALL ".join(
        f"SELECT '{f}' AS field, u.lexeme FROM {table} r, unnest(r.{f}) u" for f in fields
    )
    lengths = ", ".join(f"coalesce(sum({f}_words), 0) AS {f}" for f in fields)
    cases = " ".join(f"WHEN '{f}' THEN c.{f}" for f in fields)
    return f"""
        INSERT INTO search_terms(field, lexeme, df)
        SELECT field, lexeme, {sign}count(*) FROM ({lexemes}) t GROUP BY field, lexeme
        ON CONFLICT (field, lexeme) DO UPDATE SET df = search_terms.df + EXCLUDED.df;
        UPDATE search_totals s SET docs = s.docs {sign} c.n,
            words = s.words {sign} CASE s.field {cases} END
        FROM (SELECT count(*) AS n, {lengths} FROM {table}) c;"""


def _search_triggers() -> str:
    """Statement triggers that keep search_terms and search_totals (one statement per
    batch of notes: a row trigger would update the same counters once per note, and
    PostgreSQL slows down on many versions of one row within a transaction)."""
    out = []
    for name, event, tables, body in (
        ("search_added", "INSERT", "NEW TABLE AS added", _counting("+", "added")),
        ("search_removed", "DELETE", "OLD TABLE AS removed", _counting("-", "removed")),
        ("search_changed", "UPDATE", "OLD TABLE AS removed NEW TABLE AS added",
         _counting("-", "removed") + _counting("+", "added")),
    ):  # fmt: skip
        out.append(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}"
            # A forgotten note's words leave no trace once no note holds them.
            f"{' DELETE FROM search_terms WHERE df <= 0;' if 'removed' in tables else ''}"
            " RETURN NULL; END $$;"
            f" CREATE TRIGGER {name} AFTER {event} ON search REFERENCING {tables}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {name}();"
        )
    return "\n".join(out)


_MIGRATIONS: list[str] = [
    # 1: notes, links, history, the ops log, verdicts, lessons, meta.
    f"""
    CREATE TABLE meta (key {_T} PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE notes (
        label BIGSERIAL PRIMARY KEY,  -- vector-index key, never reused
        id {_T} NOT NULL UNIQUE,
        content TEXT NOT NULL,
        created_at {_T} NOT NULL,
        event_at {_T},
        scope {_T} NOT NULL,
        source {_T} NOT NULL,
        keywords TEXT NOT NULL DEFAULT '[]',
        tags TEXT NOT NULL DEFAULT '[]',
        context {_T} NOT NULL DEFAULT '',
        status {_T} NOT NULL DEFAULT 'active',
        dedupe_key {_T},
        thread {_T}
    );
    -- The embedder's float32 bytes (what the derived indexes are made from, bit for bit)
    -- and the same vector as pgvector, for search inside the database.
    CREATE TABLE embeddings (
        label BIGINT PRIMARY KEY REFERENCES notes(label) ON DELETE CASCADE,
        vector BYTEA NOT NULL,
        embedding vector
    );
    CREATE INDEX embeddings_unconverted ON embeddings(label) WHERE embedding IS NULL;
    CREATE INDEX notes_status ON notes(status);
    CREATE INDEX notes_when ON notes((COALESCE(event_at, created_at)));
    CREATE INDEX notes_thread ON notes(scope, thread, label) WHERE thread IS NOT NULL;
    CREATE UNIQUE INDEX notes_dedupe ON notes(scope, dedupe_key) WHERE dedupe_key IS NOT NULL;
    CREATE INDEX notes_scope ON notes(scope, event_at);
    CREATE TABLE note_tags (
        label BIGINT NOT NULL REFERENCES notes(label) ON DELETE CASCADE,
        tag {_T} NOT NULL,
        PRIMARY KEY (tag, label)
    );
    CREATE INDEX note_tags_label ON note_tags(label);
    CREATE TABLE links (
        src {_T} NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
        dst {_T} NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
        kind {_T} NOT NULL,
        weight DOUBLE PRECISION NOT NULL DEFAULT 1.0,
        created_at {_T} NOT NULL,
        PRIMARY KEY (src, dst, kind)
    );
    CREATE INDEX links_dst ON links(dst);
    CREATE TABLE history (
        change_id {_T} PRIMARY KEY,
        note_id {_T} NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
        field {_T} NOT NULL,
        before TEXT,
        after TEXT,
        reason TEXT NOT NULL DEFAULT '',
        at {_T} NOT NULL,
        reverted_by {_T}
    );
    CREATE INDEX history_note ON history(note_id);
    -- Only ids, never content. Sequence numbers are handed out under the write lock,
    -- so they commit in order and a reader never sees op n+1 before op n.
    CREATE TABLE ops (
        seq BIGSERIAL PRIMARY KEY,
        op {_T} NOT NULL CHECK (op IN ('upsert', 'revector', 'delete')),
        label BIGINT NOT NULL,
        note_id {_T} NOT NULL,
        at {_T} NOT NULL
    );
    CREATE TABLE verdicts (
        note_id {_T} PRIMARY KEY REFERENCES notes(id) ON DELETE CASCADE,
        verdict {_T} NOT NULL CHECK (verdict IN ('accept', 'flag', 'quarantine')),
        risk DOUBLE PRECISION NOT NULL,
        reasons TEXT NOT NULL DEFAULT '[]',
        at {_T} NOT NULL,
        review {_T} CHECK (review IN ('approved', 'rejected')),
        reviewed_at {_T}
    );
    CREATE INDEX verdicts_open ON verdicts(verdict) WHERE review IS NULL;
    CREATE TABLE lessons (
        id {_T} PRIMARY KEY,
        scope {_T} NOT NULL,
        text TEXT NOT NULL,
        signals TEXT NOT NULL DEFAULT '[]',
        vector BYTEA NOT NULL,
        created_at {_T} NOT NULL
    );
    CREATE INDEX lessons_scope ON lessons(scope);
    """,
    # 2: access tokens (their hashes) and grants.
    f"""
    CREATE TABLE tokens (
        name {_T} PRIMARY KEY,
        hash {_T} NOT NULL UNIQUE,
        grants TEXT NOT NULL,
        created_at {_T} NOT NULL,
        last_used {_T}
    );
    """,
    # 3: search inside the database (store/pgsearch.py). Each note's terms for BM25 (its
    # text, its date in words, its conversation window) as PostgreSQL text vectors of
    # the local BM25 index's own terms, their document frequencies and the fields'
    # total lengths (kept by statement triggers), and pgvector now holding the vector
    # recall searches (the note's context vector), refilled from the record on next write.
    f"""
    CREATE TABLE search (
        label BIGINT PRIMARY KEY REFERENCES notes(label) ON DELETE CASCADE,
        scope {_T} NOT NULL,
        ts BIGINT,
        doc TSVECTOR NOT NULL,
        doc_words INT NOT NULL,
        dated TSVECTOR NOT NULL,
        dated_words INT NOT NULL,
        win TSVECTOR NOT NULL,
        win_words INT NOT NULL,
        before BIGINT[] NOT NULL
    );
    CREATE INDEX search_doc ON search USING gin (doc);
    CREATE INDEX search_dated ON search USING gin (dated);
    CREATE INDEX search_win ON search USING gin (win);
    CREATE INDEX search_scope ON search (scope, label);
    CREATE TABLE search_terms (
        field {_T} NOT NULL,
        lexeme TEXT NOT NULL,
        df BIGINT NOT NULL,
        PRIMARY KEY (field, lexeme)
    );
    CREATE INDEX search_terms_gone ON search_terms (field) WHERE df <= 0;
    CREATE TABLE search_totals (field {_T} PRIMARY KEY, docs BIGINT NOT NULL,
                                words BIGINT NOT NULL);
    INSERT INTO search_totals VALUES ('doc', 0, 0), ('dated', 0, 0), ('win', 0, 0);
{_search_triggers()}
    DROP INDEX IF EXISTS embeddings_unconverted;
    -- Search reads the pgvector copy: kept in the row; the float32 bytes (read only to
    -- rebuild) go out of line, so a row stays small and a scan reads no TOAST.
    ALTER TABLE embeddings ALTER COLUMN embedding SET STORAGE PLAIN,
        ALTER COLUMN vector SET STORAGE EXTERNAL;
    UPDATE embeddings SET embedding = NULL;
    DELETE FROM meta WHERE key = 'search_seq';
    """,
    # 4: the fingerprints of forgotten notes' dedupe keys (store/forgotten.py).
    f"""
    CREATE TABLE forgotten (
        fingerprint {_T} PRIMARY KEY,
        scope {_T} NOT NULL,
        at {_T} NOT NULL
    );
    """,
    # 5: the version of each conversation imported (store/conversations.py).
    f"""
    CREATE TABLE conversation_versions (
        fingerprint {_T} PRIMARY KEY,
        scope {_T} NOT NULL,
        updated_at {_T} NOT NULL
    );
    """,
]


def _split(script: str) -> list[str]:
    """The statements of a script: split at semicolons outside ``$$`` bodies."""
    lines = [line.split("--")[0] for line in script.splitlines()]
    out, current = [], ""
    for i, piece in enumerate("\n".join(lines).split("$$")):
        if i % 2:  # a function body, kept whole
            current += "$$" + piece + "$$"
            continue
        first, *rest = piece.split(";")
        if rest:
            out.append(current + first)
            *done, current = rest
            out.extend(done)
        else:
            current += first
    out.append(current)
    return [part.strip() for part in out if part.strip()]


def check_vector_extension(conn: Any, where: str) -> None:
    """Refuse a server without pgvector, naming the fix."""
    row = conn.execute(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
    ).fetchone()
    if row is None:
        raise HomeError(
            f"{where} lacks the pgvector extension; install pgvector >= 0.5 on the server "
            "(most managed PostgreSQL offer it) and run CREATE EXTENSION vector"
        )


def stored_version(conn: Any) -> int:
    """The schema version a database holds (0 for a database never used by zettelmem)."""
    # A plain query of pg_class, not to_regclass: right after waiting for the write lock,
    # the catalog cache may not yet know of a table another process just created.
    exists = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'schema_version' "
        "AND relnamespace = current_schema()::regnamespace)"
    ).fetchone()[0]
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def refuse_newer(version: int, where: str) -> None:
    if version > SCHEMA_VERSION:
        raise HomeError(
            f"{where} holds schema {version}, newer than this zettelmem's {SCHEMA_VERSION}; "
            "upgrade zettelmem to use it"
        )


def migrate(conn: Any, where: str) -> None:
    """Bring the schema to SCHEMA_VERSION in one transaction (a no-op when it is there)."""
    check_vector_extension(conn, where)
    version = stored_version(conn)
    refuse_newer(version, where)
    if version == SCHEMA_VERSION:
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        version = stored_version(conn)  # another process may have migrated meanwhile
        refuse_newer(version, where)
        if version == 0:
            _create_extension(conn, where)
            conn.execute("CREATE TABLE schema_version (version INT PRIMARY KEY, "
                         "at TIMESTAMPTZ NOT NULL DEFAULT now())")  # fmt: skip
        for number in range(version, SCHEMA_VERSION):
            for statement in _split(_MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version(version) VALUES (%s)", (number + 1,))


def _create_extension(conn: Any, where: str) -> None:
    import psycopg

    try:
        with conn.transaction():  # a savepoint: the error below must not abort the rest
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as exc:
        raise HomeError(
            f"cannot enable pgvector in {where} ({' '.join(str(exc).split())}); ask the "
            "database owner to run CREATE EXTENSION vector once"
        ) from None
