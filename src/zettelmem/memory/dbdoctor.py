"""`mem doctor` on a PostgreSQL record: its notes' values, and whether the search tables
inside it (store/pgsearch.py) agree with the record; repair refills them.

PostgreSQL keeps its own files sound (checksums, WAL); what can drift is what is derived:
a search row missing or stale, a document frequency or total length off, a note without
its pgvector copy.
"""

from __future__ import annotations

from typing import Any

from zettelmem.memory.doctor import SHOWN, Check, DoctorReport, _sample, _values, migration
from zettelmem.models import Filters
from zettelmem.store.pgconn import shown
from zettelmem.store.pgsearch import (
    SEARCH_SEQ_KEY,
    DatabaseText,
    rebuild,
    stored_vector_sizes,
    terms,
    vector_index_name,
)

FIELDS = ("doc", "dated", "win")
# Lexemes whose document frequency is counted again from the notes' text vectors.
DF_SAMPLE = 50


def examine_database(url: str) -> DoctorReport:
    """Every check on the database (its record's values, its search tables)."""
    from zettelmem.store.postgres import PgRecords

    records = PgRecords(url)
    report = DoctorReport(shown(url))
    try:
        count = records.count()
        report.checks.append(Check("record", True, f"schema current, {count} notes"))
        report.checks.append(migration(records, f"the database {report.home}"))
        report.checks.append(_values(records))
        report.checks.append(_caught_up(records))
        report.checks.append(_vector_index(records.conn))
        report.checks.append(_statistics(records.conn))
        report.checks.append(_found(records))
    finally:
        records.close()
    return report


def repair_database(url: str) -> None:
    """Refill the search tables from the record (the record is never rewritten)."""
    from zettelmem.store.postgres import PgRecords

    records = PgRecords(url)
    try:
        rebuild(records)
    finally:
        records.close()


def _caught_up(records: Any) -> Check:
    conn = records.conn
    row = conn.execute("SELECT value FROM meta WHERE key = %s", (SEARCH_SEQ_KEY,)).fetchone()
    seq, head = (int(row[0]) if row else 0), records.ops_head()
    if seq != head:
        return Check("search tables", False, f"they reflect op {seq}, the record is at op {head}")
    missing = conn.execute(
        "SELECT n.id FROM notes n LEFT JOIN search s ON s.label = n.label "
        "WHERE s.label IS NULL LIMIT %s", (SHOWN,)
    ).fetchall()  # fmt: skip
    if missing:
        return Check("search tables", False, f"notes without a search row: "
                     f"{', '.join(str(r[0]) for r in missing)}")  # fmt: skip
    vectorless = conn.execute("SELECT count(*) FROM embeddings WHERE embedding IS NULL").fetchone()[
        0
    ]
    if vectorless:
        return Check("search tables", False, f"{vectorless} notes lack their pgvector copy")
    return Check("search tables", True, f"every note searchable (op {head})")


def _vector_index(conn: Any) -> Check:
    """An HNSW index for every size of vector stored (a bulk write that stopped half-way
    leaves none until the next write; searches then compare every vector)."""
    sizes = stored_vector_sizes(conn)
    made = {str(r[0]) for r in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'embeddings'")}  # fmt: skip
    lacking = sorted(size for size in sizes if vector_index_name(size) not in made)
    if lacking:
        return Check("vector index", False, "no HNSW index for vectors of "
                     f"{', '.join(map(str, lacking))} dimensions (every search compares every "
                     "vector); `mem doctor --repair` builds it")  # fmt: skip
    return Check("vector index", True, f"HNSW index for {len(sizes)} vector size(s)")


def _statistics(conn: Any) -> Check:
    """Field totals and sampled document frequencies against a count from the rows."""
    sums = conn.execute(
        "SELECT count(*), " + ", ".join(f"coalesce(sum({f}_words), 0)" for f in FIELDS)
        + " FROM search"
    ).fetchone()  # fmt: skip
    kept = {str(r[0]): (int(r[1]), int(r[2]))
            for r in conn.execute("SELECT field, docs, words FROM search_totals")}  # fmt: skip
    for i, name in enumerate(FIELDS, start=1):
        if kept.get(name) != (int(sums[0]), int(sums[i])):
            return Check("search statistics", False, f"the {name} totals {kept.get(name)} "
                         f"differ from the rows' {(int(sums[0]), int(sums[i]))}")  # fmt: skip
    off = []
    sample = conn.execute(
        "SELECT field, lexeme, df FROM search_terms ORDER BY random() LIMIT %s",
        (DF_SAMPLE,),
    ).fetchall()
    for field, lexeme, df in sample:
        actual = conn.execute(
            f"SELECT count(*) FROM search WHERE {field} @@ %s::tsquery",
            ("'" + str(lexeme).replace("'", "''") + "'",),
        ).fetchone()[0]
        if int(actual) != int(df):
            off.append(f"{field}:{lexeme} {df} for {actual}")
    if off:
        return Check("search statistics", False, "document frequencies off: "
                     + "; ".join(off[:SHOWN]))  # fmt: skip
    return Check("search statistics", True, f"totals agree; {len(sample)} sampled document "
                 "frequencies agree")  # fmt: skip


def _found(records: Any) -> Check:
    """Sampled notes are found by their own words."""
    text = DatabaseText(records)
    missing = [
        label
        for label, word in _sample(records)
        if terms(word)
        and label not in {x for x, _ in text.search(word, Filters(), 1, only={label})}
    ]
    if missing:
        return Check("search text", False, f"{len(missing)} sampled notes are not found by "
                     f"their own words (labels {missing[:SHOWN]})")  # fmt: skip
    return Check("search text", True, "sampled notes found by their words")
