"""Search inside the PostgreSQL record: BM25 over text vectors and cosine over pgvector.

The database keeps, beside each note, what the local indexes hold (store/text_index.py,
vector_index.py): its terms as the local BM25 index analyses them (its text, its date
in words, its conversation window), and the vector recall searches (its context
vector). They are derived from the record like the local indexes, by replaying the ops
log, but inside the write transaction that made the ops, so the database is searchable
as soon as a write commits, from any machine, with no local state at all.

Ranking is BM25 as the local index computes it (the same k1 and b, the same idf, each
field's length over the average length of that field across all notes, the date field
at half weight): the stored text vectors carry each term's positions, so a term's
frequency in a note is the number of its positions. Document frequencies and the
fields' total lengths are kept by a trigger (schema 3 in pgschema.py). PostgreSQL's own
``ts_rank`` weighs neither how rare a term is nor how long a note is; it is not used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from zettelmem.models import Filters, Note
from zettelmem.store.derived import DerivedIndexes
from zettelmem.store.text_index import (
    _STEMMER,
    WINDOW_BEFORE,
    Window,
    bm25_idf,
    doc_freqs,
    search_fields,
)
from zettelmem.text import QUERY_WORD
from zettelmem.timeutil import to_epoch

# The last op whose note the database's search tables reflect (in meta).
SEARCH_SEQ_KEY = "search_seq"
# tantivy's BM25 constants, so the database ranks as the local index does.
K1 = 1.2
B = 0.75
# The date field counts half, as in the local index's queries.
DATED_BOOST = 0.5
# tantivy's default tokenizer drops tokens this long or longer.
LONGEST_TERM = 40
# A text vector keeps at most this many positions of a term (PostgreSQL's limit).
MAX_POSITIONS = 255
MAX_POSITION = 16383
# Notes per batch when the search tables are filled from the whole record.
BATCH = 500
# pgvector's HNSW looks at this many candidates at least (its default, 40, is for k=10),
# and at most EF_MAX (pgvector's own limit).
EF_SEARCH = 200
EF_MAX = 1000
# A scope of at most this many notes is searched exactly (every vector compared: a few
# milliseconds), since the HNSW scan, filtering after it looks, could come back short.
EXACT_ROWS = 20_000


# pgvector inserts a vector into an HNSW index at about 6.5 ms and builds an index of
# vectors already stored at about 1 ms each (CREATE INDEX; measured at 20k vectors of
# 384 dimensions on this 2-core machine, the graph in maintenance_work_mem). Building
# the index over n held and m new vectors (n + m ms) costs less than inserting the new
# ones (6.5 m ms) once m exceeds about n / 5.5; at a quarter the rebuild is a fifth
# cheaper, so the choice does not hang on the exact ratio.
REBUILD_SHARE = 0.25
# Below this many vectors to write the inserts are cheap enough whatever the share.
REBUILD_MIN = 2_000


def terms(text: str) -> list[str]:
    """The text's terms as the local BM25 index analyses them (split, lowercase, stem)."""
    return [t for t in _STEMMER.analyze(text) if len(t) < LONGEST_TERM]


def tsvector(tokens: Sequence[str]) -> str:
    """A PostgreSQL text vector literal holding each term with its positions."""
    where: dict[str, list[int]] = {}
    for i, token in enumerate(tokens, start=1):
        spots = where.setdefault(token, [])
        if len(spots) < MAX_POSITIONS:
            spots.append(min(i, MAX_POSITION))
    parts = []
    for token, spots in where.items():
        quoted = token.replace("\\", "\\\\").replace("'", "''")
        parts.append(f"'{quoted}':" + ",".join(str(x) for x in sorted(set(spots))))
    return " ".join(parts)


# -- keeping the search tables -------------------------------------------------------


def current(records: Any) -> bool:
    """Whether the search tables reflect the record's last op."""
    row = records.conn.execute(
        "SELECT value FROM meta WHERE key = %s", (SEARCH_SEQ_KEY,)
    ).fetchone()
    return bool((int(row[0]) if row else 0) == records.ops_head())


def catch_up(records: Any, conn: Any) -> None:
    """Bring the search tables and the pgvector column to the record's last op; runs
    inside a write transaction (under the write lock)."""
    row = conn.execute("SELECT value FROM meta WHERE key = %s", (SEARCH_SEQ_KEY,)).fetchone()
    seq = int(row[0]) if row else 0
    head = records.ops_head()
    if head == seq:
        return
    if seq == 0:
        # Never filled (a new database, a migration, a rebuild): every note.
        labels = [int(r[0]) for r in conn.execute("SELECT label FROM notes ORDER BY label")]
        text, vectors = labels, labels
    else:
        text, vectors, _ = DerivedIndexes._coalesce(records.ops_since(seq, head))
    for start in range(0, len(text), BATCH):
        _write_rows(records, conn, text[start : start + BATCH])
    # Refilling every vector (a new database, `mem reindex`, a repair): the index is built
    # once after them when that pays, as in a bulk write.
    bulk = (seq == 0 and not records.vector_index_deferred
            and defer_vector_index(records, conn, len(vectors)))  # fmt: skip
    records.vector_index_deferred = records.vector_index_deferred or bulk
    try:
        for start in range(0, len(vectors), BATCH):
            _write_vectors(records, conn, vectors[start : start + BATCH])
    finally:
        if bulk:
            records.vector_index_deferred = False
    if bulk:
        build_vector_index(records, conn)
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        (SEARCH_SEQ_KEY, str(head)),
    )


def _write_rows(records: Any, conn: Any, labels: Sequence[int]) -> None:
    notes: dict[int, Note] = records.by_labels(list(labels))
    chains = records.preceding(list(notes), WINDOW_BEFORE)
    wanted = {x for chain in chains.values() for x in chain}
    texts = records.contents(list(wanted)) if wanted else {}
    rows = []
    for label, note in notes.items():
        before = [x for x in chains.get(label, []) if x in texts][:WINDOW_BEFORE]
        fields = search_fields(note, [texts[x] for x in before])
        doc = terms(fields.text)
        dated = terms(fields.when) if fields.when is not None else []
        ts = fields.ts
        win = terms(fields.window) if fields.window else []
        chain = "{" + ",".join(map(str, before)) + "}"
        rows.append((label, note.scope, ts, tsvector(doc), len(doc), tsvector(dated),
                     len(dated), tsvector(win), len(win), chain))  # fmt: skip
    if not rows:
        return
    # One statement for the batch: the statistics triggers then run once per batch.
    columns = list(zip(*rows))
    conn.execute(
        "INSERT INTO search(label, scope, ts, doc, doc_words, dated, dated_words, win, "
        "win_words, before) SELECT label, scope, ts, doc::tsvector, doc_words, "
        "dated::tsvector, dated_words, win::tsvector, win_words, before::bigint[] FROM "
        "unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::int[], %s::text[], "
        "%s::int[], %s::text[], %s::int[], %s::text[]) AS r(label, scope, ts, doc, "
        "doc_words, dated, dated_words, win, win_words, before) "
        "ON CONFLICT (label) DO UPDATE SET scope = EXCLUDED.scope, "
        "ts = EXCLUDED.ts, doc = EXCLUDED.doc, doc_words = EXCLUDED.doc_words, "
        "dated = EXCLUDED.dated, dated_words = EXCLUDED.dated_words, win = EXCLUDED.win, "
        "win_words = EXCLUDED.win_words, before = EXCLUDED.before",
        [list(c) for c in columns],
    )


def _write_vectors(records: Any, conn: Any, labels: Sequence[int]) -> None:
    found = records.context_vectors(list(labels))
    if not found:
        return
    labels_, texts = list(found), [_vector_text(v) for v in found.values()]
    conn.execute(
        "UPDATE embeddings e SET embedding = v.vec::vector FROM unnest(%s::bigint[], "
        "%s::text[]) AS v(label, vec) WHERE e.label = v.label",
        (labels_, texts),
    )
    if records.vector_index_deferred:
        return  # built once when the bulk write ends (PgRecords.bulk_writes)
    for size in {len(v) for v in found.values()} - records.indexed_dims:
        _create_vector_index(conn, size)
        records.indexed_dims.add(size)


def vector_index_name(size: int) -> str:
    """The pgvector HNSW index of the vectors of ``size`` dimensions."""
    return f"embeddings_hnsw_{size}"


def stored_vector_sizes(conn: Any) -> set[int]:
    """The sizes of the vectors the search column holds (one index each)."""
    return {
        int(r[0])
        for r in conn.execute(
            "SELECT DISTINCT vector_dims(embedding) FROM embeddings WHERE embedding IS NOT NULL"
        )
    }


def _create_vector_index(conn: Any, size: int) -> None:
    conn.execute(
        f"CREATE INDEX IF NOT EXISTS {vector_index_name(size)} ON embeddings USING hnsw "
        f"((embedding::vector({size})) vector_cosine_ops) "
        f"WHERE vector_dims(embedding) = {size}"
    )


def defer_vector_index(records: Any, conn: Any, expected: int) -> bool:
    """Before ``expected`` notes are written in several transactions: drop the HNSW
    indexes when building them again afterwards costs less than inserting into them
    (REBUILD_SHARE); returns whether they were dropped. Searches meanwhile compare
    every vector (the same answers, slower); any later write makes a missing index
    again (a bulk write that died half-way leaves none only until then)."""
    held = int(conn.execute("SELECT count(*) FROM embeddings WHERE embedding IS NOT NULL")
               .fetchone()[0])  # fmt: skip
    if expected < REBUILD_MIN or expected < REBUILD_SHARE * held:
        return False
    names = [r[0] for r in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'embeddings' "
        "AND indexname LIKE 'embeddings_hnsw_%%'")]  # fmt: skip
    for name in names:
        conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    records.indexed_dims.clear()
    return True


def build_vector_index(records: Any, conn: Any) -> None:
    """Make the HNSW index of every vector size stored (after a deferred bulk write)."""
    for size in stored_vector_sizes(conn):
        _create_vector_index(conn, size)
        records.indexed_dims.add(size)


def rebuild(records: Any) -> None:
    """Refill the search tables from the whole record (``mem reindex``)."""
    with records.transaction():
        conn = records.conn
        conn.execute("DELETE FROM search")
        conn.execute("UPDATE embeddings SET embedding = NULL")
        conn.execute("DELETE FROM search_terms")
        conn.execute("UPDATE search_totals SET docs = 0, words = 0")
        conn.execute("DELETE FROM meta WHERE key = %s", (SEARCH_SEQ_KEY,))
    # The transaction's end ran catch_up from op 0: every note again.


# -- searching --------------------------------------------------------------------------


def _filter_sql(
    filters: Filters, only: set[int] | None, exclude: set[int] | None, alias: str = "s"
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if filters.scope is not None:
        clauses.append(f"{alias}.scope = %s")
        args.append(filters.scope)
    if filters.scopes is not None:
        clauses.append(f"{alias}.scope = ANY(%s)")
        args.append(list(filters.scopes))
    if filters.since is not None:
        clauses.append(f"{alias}.ts >= %s")
        args.append(to_epoch(filters.since))
    if filters.until is not None:
        clauses.append(f"{alias}.ts <= %s")
        args.append(to_epoch(filters.until))
    if only is not None:
        clauses.append(f"{alias}.label = ANY(%s)")
        args.append(sorted(only))
    if exclude:
        clauses.append(f"NOT ({alias}.label = ANY(%s))")
        args.append(sorted(exclude))
    return "".join(f" AND {c}" for c in clauses), args


class DatabaseText:
    """BM25 over the search table (the local TextIndex's queries, answered by SQL)."""

    def __init__(self, records: Any) -> None:
        self.records = records

    @property
    def conn(self) -> Any:
        return self.records.conn

    def count(self) -> int:
        row = self.conn.execute("SELECT docs FROM search_totals WHERE field = 'doc'").fetchone()
        return int(row[0]) if row else 0

    def reload(self) -> None:
        """Nothing to reload: every query reads the committed tables."""

    def idf_reader(self, coming: Sequence[str] = ()) -> Callable[[str], float]:
        """BM25's idf of a word in notes' text, the texts ``coming`` counted as if written
        (as TextIndex.idf_reader)."""
        added = doc_freqs(coming)
        total = self.count() + len(coming)
        known: dict[str, float] = {}

        def idf(word: str) -> float:
            if word not in known:
                found = terms(word)
                if not found or total == 0:
                    known[word] = 1.0
                else:
                    row = self.conn.execute(
                        "SELECT df FROM search_terms WHERE field = 'doc' AND lexeme = %s",
                        (found[0],),
                    ).fetchone()
                    df = (int(row[0]) if row else 0) + added[found[0]]
                    known[word] = bm25_idf(total, df)
            return known[word]

        return idf

    def _weights(
        self, query: str, fields: Sequence[tuple[str, float]], ignore: frozenset[str]
    ) -> tuple[list[str], list[str], list[float], list[float], list[int]]:
        """The query's (field, term, boost x idf x count, field's average length, the
        term's document frequency in the field) rows."""
        words = [w.lower() for w in QUERY_WORD.findall(query)]
        words = [w for w in words if w not in ignore] or words
        counts = Counter(t for w in words for t in terms(w))
        if not counts:
            return [], [], [], [], []
        names = [name for name, _ in fields]
        totals = {
            str(r[0]): (int(r[1]), int(r[2]))
            for r in self.conn.execute(
                "SELECT field, docs, words FROM search_totals WHERE field = ANY(%s)", (names,)
            )
        }
        dfs = {
            (str(r[0]), str(r[1])): int(r[2])
            for r in self.conn.execute(
                "SELECT field, lexeme, df FROM search_terms WHERE field = ANY(%s) "
                "AND lexeme = ANY(%s)",
                (names, list(counts)),
            )
        }
        out: tuple[list[str], list[str], list[float], list[float], list[int]] = ([], [], [], [], [])
        for name, boost in fields:
            docs, length = totals.get(name, (0, 0))
            if docs == 0:
                continue
            for term, count in counts.items():
                df = dfs.get((name, term), 0)
                if df == 0:
                    continue
                out[0].append(name)
                out[1].append(term)
                out[2].append(boost * count * bm25_idf(docs, df))
                out[3].append(max(length / docs, 1e-9))
                out[4].append(df)
        return out

    def _bm25(
        self,
        query: str,
        fields: Sequence[tuple[str, float]],
        where: tuple[str, list[Any]],
        limit: int,
        ignore: frozenset[str],
        conjunction: bool = False,
        extra: str = "",
    ) -> list[Any]:
        names, lexemes, weights, averages, dfs = self._weights(query, fields, ignore)
        if not names:
            return []
        if conjunction and len(set(lexemes)) < len(
            {t for w in QUERY_WORD.findall(query) for t in terms(w.lower())}
        ):
            return []  # a word no note holds: nothing holds them all
        columns = {name for name in names}
        joiner = " & " if conjunction else " | "
        query_text = joiner.join(sorted({_quote(x) for x in lexemes}))
        match = " OR ".join(f"s.{name} @@ %(q)s::tsquery" for name in sorted(columns))
        per_field = " UNION ALL ".join(
            f"SELECT '{name}'::text AS field, lexeme, array_length(positions, 1) AS tf, "
            f"s.{name}_words AS len FROM unnest(ts_filter(setweight(s.{name}, 'A', "
            f"%(lexemes)s::text[]), '{{a}}'))"
            for name in sorted(columns)
        )
        filter_sql, filter_args = where
        params: dict[str, Any] = {"q": query_text, "lexemes": lexemes, "limit": limit,
                                  "names": names, "weights": weights, "avgs": averages}  # fmt: skip
        for i, value in enumerate(filter_args):
            params[f"f{i}"] = value
        filter_sql = _named(filter_sql, len(filter_args))
        sql = (
            "WITH q AS (SELECT * FROM unnest(%(names)s::text[], %(lexemes)s::text[], "
            "%(weights)s::float8[], %(avgs)s::float8[]) AS q(field, lexeme, weight, avg)) "
            f"SELECT s.label, sum(q.weight * u.tf * {K1 + 1} / (u.tf + {K1} * "
            f"({1 - B} + {B} * u.len / q.avg))) AS score{extra} "
            f"FROM search s CROSS JOIN LATERAL ({per_field}) u "
            "JOIN q ON q.field = u.field AND q.lexeme = u.lexeme "
            f"WHERE ({match}){filter_sql} GROUP BY s.label "
            "ORDER BY score DESC, s.label LIMIT %(limit)s"
        )
        if conjunction:
            return list(self.conn.execute(sql, params).fetchall())
        return self._pruned(sql, params, lexemes, weights, dfs)

    def _pruned(
        self,
        sql: str,
        params: dict[str, Any],
        lexemes: list[str],
        weights: list[float],
        dfs: list[int],
    ) -> list[Any]:
        """The query's rows, looking first only at notes that hold one of its rarer words
        (max-score pruning, exact). A word adds at most its weight times (k1 + 1) to a
        note's score, so a note holding none of the words looked for scores at most the
        sum of that bound over the words left out: when the list comes back full and its
        last score is above that sum, no such note could enter it. The most common words
        are left out first, as many as the test allows, then fewer, then none (every note
        holding any word). A question naming a speaker (in a tenth of the notes) and
        asking with everyday words thus scores the notes holding its rarer words instead
        of every turn that holds any of them. Words held by fewer notes together than
        the list asks for cannot fill it and are not asked alone."""
        bound: dict[str, float] = {}
        holders: dict[str, int] = {}
        for lexeme, weight, df in zip(lexemes, weights, dfs):
            bound[lexeme] = bound.get(lexeme, 0.0) + weight * (K1 + 1)
            holders[lexeme] = holders.get(lexeme, 0) + df  # at most (two fields, one note)
        common = sorted(bound, key=lambda x: (bound[x], x))  # most common first
        for keep in range(1, len(common)):
            if sum(holders[x] for x in common[-keep:]) < params["limit"]:
                continue
            left_out = sum(bound[x] for x in common[:-keep])
            rarer = " | ".join(sorted(_quote(x) for x in common[-keep:]))
            rows = list(self.conn.execute(sql, {**params, "q": rarer}).fetchall())
            if len(rows) == params["limit"] and float(rows[-1][1]) > left_out:
                return rows
        return list(self.conn.execute(sql, params).fetchall())

    def search(
        self,
        query: str,
        filters: Filters,
        limit: int,
        conjunction: bool = False,
        ignore: frozenset[str] = frozenset(),
        only: set[int] | None = None,
        exclude: set[int] | None = None,
    ) -> list[tuple[int, float]]:
        """(label, bm25) pairs, best first (TextIndex.search's contract)."""
        if only is not None and not only:
            return []
        fields = [("doc", 1.0)] if conjunction else [("doc", 1.0), ("dated", DATED_BOOST)]
        where = _filter_sql(filters, only, exclude)
        rows = self._bm25(query, fields, where, limit, ignore, conjunction)
        return [(int(r[0]), float(r[1])) for r in rows]

    def search_windows(
        self,
        query: str,
        filters: Filters,
        limit: int,
        ignore: frozenset[str] = frozenset(),
        exclude: set[int] | None = None,
    ) -> list[Window]:
        """The best windows for a query (TextIndex.search_windows's contract)."""
        where = _filter_sql(filters, None, exclude)
        rows = self._bm25(query, [("win", 1.0)], where, limit, ignore,
                          extra=", s.before")  # fmt: skip
        return [Window(int(r[0]), float(r[1]), tuple(int(x) for x in r[2] or ())) for r in rows]


class DatabaseVectors:
    """Cosine search over the pgvector column (the local VectorIndex's queries)."""

    def __init__(self, records: Any, dims: int) -> None:
        self.records = records
        self.dims = dims

    @property
    def conn(self) -> Any:
        return self.records.conn

    def __len__(self) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM embeddings WHERE embedding IS NOT NULL"
        ).fetchone()
        return int(row[0])

    @property
    def labels(self) -> set[int]:
        """Every label with a searchable vector."""
        rows = self.conn.execute("SELECT label FROM embeddings WHERE embedding IS NOT NULL")
        return {int(r[0]) for r in rows}

    def count(self, scope: str | None = None) -> int:
        """Whether there is anything to search (1 or 0 for a scope: the linker asks)."""
        if scope is None:
            return len(self)
        row = self.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM search WHERE scope = %s)", (scope,)
        ).fetchone()
        return int(bool(row[0]))

    def scopes(self) -> list[str]:
        rows = self.conn.execute(
            "WITH RECURSIVE s(scope) AS ((SELECT scope FROM search ORDER BY scope LIMIT 1) "
            "UNION ALL SELECT (SELECT scope FROM search WHERE scope > s.scope ORDER BY scope "
            "LIMIT 1) FROM s WHERE s.scope IS NOT NULL) SELECT scope FROM s "
            "WHERE scope IS NOT NULL"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def search(
        self,
        query: np.ndarray,
        k: int,
        allowed: set[int] | None = None,
        scope: str | None = None,
        exclude: set[int] | frozenset[int] = frozenset(),
        scopes: Sequence[str] | None = None,
    ) -> list[tuple[int, float]]:
        """(label, cosine similarity) pairs, best first (VectorIndex.search's contract)."""
        if (allowed is not None and not allowed) or (scopes is not None and not scopes):
            return []
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        filters = Filters(scope=scope, scopes=tuple(scopes) if scopes is not None else None)
        filter_sql, args = _filter_sql(filters, allowed, set(exclude))
        d = self.dims
        vector = _vector_text(q)
        params = [vector, *args, vector, k]
        distance = f"e.embedding::vector({d}) <=> %s::vector({d})"
        sql = (
            f"SELECT e.label, 1 - ({distance}) AS sim "
            "FROM embeddings e JOIN search s ON s.label = e.label "
            f"WHERE vector_dims(e.embedding) = {d}{filter_sql} ORDER BY {{order}} LIMIT %s"
        )
        # Every passing vector compared, found from the search rows that pass (a vector of
        # another size, left by an embedder change until reindex, sorts last).
        exact = (
            f"SELECT e.label, 1 - ({distance}) AS sim FROM search s "
            f"JOIN embeddings e ON e.label = s.label WHERE true{filter_sql} "
            f"ORDER BY CASE WHEN vector_dims(e.embedding) = {d} THEN {distance} END, e.label "
            "LIMIT %s"
        )
        narrow = Filters(scope=scope, scopes=filters.scopes) != Filters()
        if allowed is not None or (narrow and self._few(filters)):
            return self._rows(exact, params)
        # The HNSW scan filters after it looks, so a scope holding a small share of the
        # notes needs a wider look; a look that still comes back short is done exactly.
        with self.conn.transaction():
            self.conn.execute("SELECT set_config('hnsw.ef_search', %s, true)",
                              (str(min(EF_MAX, max(EF_SEARCH, 2 * k))),))  # fmt: skip
            found = self._rows(sql.format(order=distance), params)
        if len(found) < k and filter_sql:
            return self._rows(exact, params)
        return found

    def search_many(
        self,
        queries: np.ndarray,
        k: int,
        scope: str | None = None,
        exclude: set[int] | frozenset[int] = frozenset(),
    ) -> list[list[tuple[int, float]]]:
        """``search`` for each row of ``queries`` (one statement each)."""
        return [self.search(q, k, scope=scope, exclude=exclude) for q in np.asarray(queries)]

    def _few(self, filters: Filters) -> bool:
        """Whether the scopes asked for hold few enough notes to compare them all."""
        where, args = _filter_sql(filters, None, None)
        row = self.conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM search s WHERE true{where} LIMIT %s) t",
            [*args, EXACT_ROWS + 1],
        ).fetchone()
        return int(row[0]) <= EXACT_ROWS

    def _rows(self, sql: str, params: list[Any]) -> list[tuple[int, float]]:
        rows = self.conn.execute(sql, params).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]


class DatabaseIndexes:
    """The derived indexes' surface (DerivedIndexes) answered inside the database: nothing
    to build, catch up or save on this machine."""

    def __init__(self, records: Any, dims: int) -> None:
        self.records = records
        self.text = DatabaseText(records)
        self.vectors = DatabaseVectors(records, dims)

    def catch_up(self, force_save: bool = False, text_lag: int = 0) -> None:
        """Nothing to do: every write transaction brought the search tables along."""

    def flush(self) -> None:
        """Nothing kept in this process."""

    def rebuild(self) -> None:
        rebuild(self.records)

    def text_search(self, query: str, filters: Filters, limit: int, *, windows: bool = False,
                    **options: Any) -> Any:  # fmt: skip
        if windows:
            return self.text.search_windows(query, filters, limit, **options)
        return self.text.search(query, filters, limit, **options)


def _vector_text(vector: np.ndarray) -> str:
    """pgvector's text form of a float32 vector, exact (nine significant digits)."""
    return "[" + ",".join(f"{x:.9g}" for x in vector.tolist()) + "]"


def _quote(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _named(sql: str, count: int) -> str:
    """``%s`` placeholders as the named ones ``f0``, ``f1``... (one query mixes both)."""
    for i in range(count):
        sql = sql.replace("%s", f"%(f{i})s", 1)
    return sql
