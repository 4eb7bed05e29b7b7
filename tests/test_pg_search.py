"""Search inside the PostgreSQL record (store/pgsearch.py): BM25 that ranks as the local
tantivy index does, pgvector search, and search tables that follow every write, forget,
reindex and migration."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner

from zettelmem.cli.main import cli
from zettelmem.memory.core import Memory
from zettelmem.models import Filters
from zettelmem.store import pgschema
from zettelmem.store.derived import DerivedIndexes
from zettelmem.store.pgsearch import DatabaseIndexes, terms, tsvector
from zettelmem.text import STOPWORDS

pytestmark = pytest.mark.usefixtures("offline_env")

TURNS = [
    "Caroline: I signed up for the pottery class on Sunday, the teacher is lovely",
    "Melanie: Lovely! I painted a lake at sunrise last week with the kids",
    "Caroline: my dog Oscar loves the long park walks near the lake",
    "Melanie: We went camping in the mountains, the kids roasted marshmallows",
    "Caroline: The pottery teacher said my second bowl was much better",
    "Melanie: Oscar is such a good dog, give him a pat from me",
    "Caroline: I am thinking about adopting a second dog from the shelter",
    "Melanie: camping again next month, the kids want to see the stars",
]
NOTES = [
    "I use Helix as my editor, with tabs in Go files",
    "Remind me to call Ana about the pottery exhibition on Friday",
    "The quarterly report is due on the first Monday of the month",
    "Lake Tahoe trip: book the cabin before March",
]
QUERIES = ["pottery teacher", "camping kids mountains", "dog Oscar", "lake sunrise painted",
           "second bowl", "editor tabs", "when is the report due", "Ana exhibition Friday",
           "stars next month", "shelter adopt dog"]  # fmt: skip


def _fill(memory: Memory) -> None:
    for i, text in enumerate(TURNS):
        day = f"2023-05-0{1 + i // 4}T10:0{i}:00"
        memory.remember(text, source=f"chat:c1/D1:{i}", event_at=day, scope="team")
    for text in NOTES:
        memory.remember(text, scope="me")


@pytest.fixture
def memory(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The record in the database, searched through this machine's indexes (built from
    it): the side the database's own search is compared with."""
    monkeypatch.setenv("MEM_SEARCH", "local")
    with Memory(tmp_path / "home", store=pg_url, embedder="hashing:64", guard="off") as mem:
        assert isinstance(mem.indexes, DerivedIndexes)
        _fill(mem)
        # tantivy counts replaced documents (notes whose links evolved) in its statistics
        # until a merge; a rebuilt index holds each note once, as the database does.
        mem.indexes.rebuild()
        yield mem


def _close(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> None:
    """Same scores in the same order, with the same labels, except that equal scores may
    list their labels in any order and the last ones may be cut at the limit."""
    assert len(a) == len(b), (a, b)
    for (_, x), (_, y) in zip(a, b):
        assert math.isclose(x, y, rel_tol=1e-4, abs_tol=1e-6), (a, b)
    last = round(a[-1][1], 4) if a else 0.0
    assert {x for x, score in a if round(score, 4) != last} == {
        x for x, score in b if round(score, 4) != last
    }


def test_bm25_in_the_database_scores_as_the_local_index(memory: Memory) -> None:
    database = DatabaseIndexes(memory.records, 64)
    for query in QUERIES:
        for filters in (Filters(), Filters(scope="team"), Filters(scopes=("me",))):
            local = memory.indexes.text.search(query, filters, 10, ignore=STOPWORDS)
            found = database.text.search(query, filters, 10, ignore=STOPWORDS)
            _close(found, local)
        assert memory.indexes.text.search(query, Filters(), 10, ignore=STOPWORDS)
    # Every word must match (`forget --query`): only the note holding both.
    both = database.text.search("pottery teacher", Filters(), 10, conjunction=True)
    _close(both, memory.indexes.text.search("pottery teacher", Filters(), 10, conjunction=True))
    assert len(both) == 2
    assert database.text.search("pottery zebra", Filters(), 10, conjunction=True) == []


def test_windows_in_the_database_match_the_local_ones(memory: Memory) -> None:
    database = DatabaseIndexes(memory.records, 64)
    for query in QUERIES:
        local = memory.indexes.text.search_windows(query, Filters(), 20, ignore=STOPWORDS)
        found = database.text.search_windows(query, Filters(), 20, ignore=STOPWORDS)
        assert [(w.label, w.before) for w in found] == [(w.label, w.before) for w in local]
        for a, b in zip(found, local):
            assert math.isclose(a.score, b.score, rel_tol=1e-4)


def test_idf_and_dates_agree(memory: Memory) -> None:
    database = DatabaseIndexes(memory.records, 64)
    local_idf, db_idf = memory.indexes.text.idf_reader(), database.text.idf_reader()
    for word in ("pottery", "kids", "the", "zebra", "Camping"):
        assert math.isclose(db_idf(word), local_idf(word), rel_tol=1e-9)
    since = Filters(since="2023-05-02T00:00:00")
    local = memory.indexes.text.search("kids", since, 10)
    assert local
    _close(database.text.search("kids", since, 10), local)


def test_vectors_in_the_database_find_what_the_local_index_finds(memory: Memory) -> None:
    database = DatabaseIndexes(memory.records, 64)
    assert len(database.vectors) == len(memory.indexes.vectors) == len(TURNS) + len(NOTES)
    assert database.vectors.scopes() == sorted(memory.indexes.vectors.scopes()) == ["me", "team"]
    for query in QUERIES:
        q = memory.embedder.embed([query])[0]
        for scope in (None, "team", "me"):
            local = memory.indexes.vectors.search(q, 5, scope=scope)
            _close(database.vectors.search(q, 5, scope=scope), local)
        allowed = {label for label, _ in local[:2]}
        assert {x for x, _ in database.vectors.search(q, 5, allowed=allowed)} == allowed
        assert database.vectors.search(q, 5, scopes=()) == []


def _tables(url: str) -> tuple[list[Any], list[Any], list[Any]]:
    with psycopg.connect(url) as conn:
        terms_ = conn.execute("SELECT field, lexeme, df FROM search_terms ORDER BY 1, 2")
        totals = conn.execute("SELECT field, docs, words FROM search_totals ORDER BY 1")
        rows = conn.execute("SELECT label, doc::text, win::text, before FROM search ORDER BY 1")
        return list(terms_), list(totals), list(rows)


def test_forget_and_reindex_leave_the_tables_a_rebuild_would_make(
    pg_url: str, tmp_path: Path
) -> None:
    with Memory(tmp_path / "h", store=pg_url, embedder="hashing:64", guard="off") as mem:
        _fill(mem)
        zebra = mem.remember("a zebra named Quixotic grazes", scope="me").note
        mem.forget([zebra.id])
        assert DatabaseIndexes(mem.records, 64).text.search("zebra", Filters(), 5) == []
        before = _tables(pg_url)
        assert not [row for row in before[0] if row[1] in ("zebra", "quixot")]
        assert all(row[2] > 0 for row in before[0])
        DatabaseIndexes(mem.records, 64).rebuild()
        assert _tables(pg_url) == before
        total = before[1][0]
        assert total[1] == len(TURNS) + len(NOTES)  # every note, once


def test_a_database_from_before_search_is_filled_on_first_open(pg_url: str, tmp_path: Path) -> None:
    with Memory(tmp_path / "h", store=pg_url, embedder="hashing:64", guard="off") as mem:
        _fill(mem)
    filled = _tables(pg_url)
    # Take the database back to schema 2, as an earlier zettelmem left it.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for sql in ("DROP TABLE search, search_terms, search_totals, forgotten, "
                    "conversation_versions",
                    "DROP FUNCTION search_added, search_removed, search_changed",
                    "DELETE FROM schema_version WHERE version >= 3",
                    "UPDATE meta SET value = '2' WHERE key = 'schema_version'"):  # fmt: skip
            conn.execute(sql)
    with Memory(tmp_path / "h2", store=pg_url, embedder="hashing:64", guard="off") as mem:
        assert _tables(pg_url) == filled
        with psycopg.connect(pg_url) as conn:
            missing = conn.execute("SELECT count(*) FROM embeddings WHERE embedding IS NULL")
            assert missing.fetchone()[0] == 0
            version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        assert version == pgschema.SCHEMA_VERSION
        hits = mem.recall("pottery teacher", k=3).hits
        assert hits and "pottery" in hits[0].note.content


def test_recall_through_the_cli_searches_the_database(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEM_EMBEDDER", "hashing:64")
    home = tmp_path / "h"

    def mem(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--home", str(home), "--store", pg_url, *args])
        assert result.exit_code == 0, result.stdout + result.stderr
        return result.stdout

    assert "database" in mem("config", "set", "search", "database")
    for text in TURNS:
        mem("remember", text, "--scope", "team")
    out = mem("recall", "pottery teacher", "-k", "2")
    assert "pottery" in out.splitlines()[0]
    # Nothing of this machine's was needed: no index folder was ever made.
    assert not list((home / "stores").glob("*/text"))


def test_text_vector_literals_keep_every_term_and_its_count() -> None:
    tokens = terms("It's the O'Brien back\\slash test; tests TESTED, test")
    literal = tsvector(tokens)
    with_counts = {part.split("':")[0].strip("'"): len(part.split(":")[1].split(","))
                   for part in literal.split(" ")}  # fmt: skip
    assert with_counts["test"] == tokens.count("test") == 4
    assert "o''brien" not in with_counts and "o" in with_counts
    assert tsvector([]) == ""
    assert np.all([len(t) < 40 for t in terms("x" * 39 + " " + "y" * 40)])
    assert terms("y" * 40) == []


def test_doctor_on_a_database_finds_drifted_search_tables_and_repairs_them(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEM_EMBEDDER", "hashing:64")
    home = tmp_path / "h"
    with Memory(home, store=pg_url, embedder="hashing:64", guard="off") as mem:
        _fill(mem)

    def doctor(*extra: str) -> tuple[int, dict[str, Any]]:
        result = CliRunner().invoke(cli, ["--home", str(home), "--store", pg_url, "doctor",
                                          "--json", *extra])  # fmt: skip
        import json

        return result.exit_code, json.loads(result.stdout)

    code, report = doctor()
    assert code == 0 and report["ok"], report
    assert [c["name"] for c in report["checks"]] == [
        "record",
        "migration",
        "record values",
        "search tables",
        "vector index",
        "search statistics",
        "search text",
    ]
    # Drift: a counter off, a search row lost, a vector copy gone, the vector index gone
    # (as a bulk write that stopped half-way leaves it).
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE search DISABLE TRIGGER USER")
        conn.execute("DELETE FROM search WHERE label = (SELECT min(label) FROM search)")
        conn.execute("UPDATE embeddings SET embedding = NULL WHERE label = 3")
        conn.execute("ALTER TABLE search ENABLE TRIGGER USER")
        conn.execute("DROP INDEX embeddings_hnsw_64")
    code, report = doctor()
    failed = {c["name"] for c in report["checks"] if not c["ok"]}
    assert code == 1 and failed == {"search tables", "vector index", "search statistics",
                                    "search text"}, report  # fmt: skip
    # The refill writes every vector again: with so many, the index is built after them.
    from zettelmem.store import pgsearch

    monkeypatch.setattr(pgsearch, "REBUILD_MIN", 1)
    code, report = doctor("--repair")
    assert code == 0 and report["ok"] and report["repaired"], report
    assert _hnsw(pg_url) == ["embeddings_hnsw_64"]


def test_a_new_server_answers_from_the_database_then_from_its_own_indexes(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zettelmem.server.core import Core
    from zettelmem.store.derived import DerivedIndexes

    monkeypatch.delenv("MEM_SEARCH", raising=False)  # `search auto`, the default
    with Memory(tmp_path / "writer", store=pg_url, embedder="hashing:64") as mem:
        _fill(mem)
    core = Core(lambda: Memory(tmp_path / "server", store=pg_url, embedder="hashing:64"))
    try:
        # Nothing built on this machine yet: the database answers while it builds.
        assert core.warming is not None
        first = core.call(lambda m: m.recall("pottery teacher", k=3))
        assert "pottery" in first.hits[0].note.content
        core.warming.join(timeout=120)
        assert isinstance(core.memory.indexes, DerivedIndexes)
        assert core.memory.linker.indexes is core.memory.indexes
        with Memory(tmp_path / "writer", store=pg_url, embedder="hashing:64") as mem:
            mem.remember("a heron nests by the canal", scope="me")
        hit = core.call(lambda m: m.recall("heron canal", k=1)).hits[0]
        assert hit.note.content == "a heron nests by the canal"
    finally:
        core.close()
    # The next start on this machine opens the indexes it built; a CLI call on a machine
    # that never built any searches the database and builds nothing.
    with Memory(tmp_path / "server", store=pg_url, embedder="hashing:64") as mem:
        assert isinstance(mem.indexes, DerivedIndexes) and not mem.wants_local_indexes()
    with Memory(tmp_path / "laptop", store=pg_url, embedder="hashing:64") as mem:
        assert isinstance(mem.indexes, DatabaseIndexes)
        assert mem.recall("heron", k=1).hits[0].note.content == "a heron nests by the canal"
    assert not (tmp_path / "laptop" / "stores").exists() or not list(
        (tmp_path / "laptop" / "stores").glob("*/text")
    )


def test_pruning_the_most_common_words_keeps_the_exact_ranking(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notes holding only a query's most common words are skipped when they cannot enter
    the list; the list is the one every note would give (the local index's)."""
    monkeypatch.setenv("MEM_SEARCH", "local")
    with Memory(tmp_path / "h", store=pg_url, embedder="hashing:64", guard="off") as mem:
        assert isinstance(mem.indexes, DerivedIndexes)
        for i in range(40):
            mem.remember(f"the kettle number {i} is on the stove", scope="s")
        for i in range(6):
            mem.remember(f"a zebra {'kettle ' * (i % 2)}grazing {i}", scope="s")
        for i in range(5):  # short notes holding only the common word, many times
            mem.remember(f"kettle {'kettle ' * i}{'stove ' * (i % 2)}{i}", scope="s")
        for i in range(6):  # long notes holding a rare word once
            mem.remember(f"by the river a lone umbrella {'zebra ' * (i % 2)}stood among the "
                         f"many tall grasses of the wide open plain all day long {i}",
                         scope="s")  # fmt: skip
        for i in range(3):  # a rare word, in long notes: shorter ones holding only
            # commoner words, many times, outscore them
            mem.remember(f"by the canal a grey heron stood {'among the many tall reeds ' * 2}"
                         f"of the wide quiet water all day long {i}", scope="s")  # fmt: skip
        for i in range(12):  # a word between the two in frequency, with either or both
            extra = ("zebra ", "kettle ", "", "stove zebra ")[i % 4]
            mem.remember(f"an {extra}umbrella {'umbrella ' * (i % 3)}stand {i}", scope="s")
        mem.indexes.rebuild()
        database = DatabaseIndexes(mem.records, 64)
        for limit in (1, 3, 5, 6, 8, 12, 20, 60):
            for query in ("kettle zebra", "zebra kettle stove", "kettle", "umbrella kettle",
                          "stove umbrella zebra kettle", "zebra umbrella", "heron umbrella",
                          "heron umbrella kettle", "heron zebra umbrella"):  # fmt: skip
                local = mem.indexes.text.search(query, Filters(), limit)
                _close(database.text.search(query, Filters(), limit), local)


def _hnsw(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'embeddings' "
                            "AND indexname LIKE 'embeddings_hnsw_%' ORDER BY 1")  # fmt: skip
        return [r[0] for r in rows]


def test_a_large_restore_builds_the_vector_index_once_at_the_end(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zettelmem.store import pgsearch
    from zettelmem.transfer.export import export_jsonl, restore_jsonl

    monkeypatch.setattr(pgsearch, "REBUILD_MIN", 5)
    with Memory(tmp_path / "home", embedder="hashing:64", guard="off") as home:
        _fill(home)
        export_jsonl(home, tmp_path / "m.jsonl")
        expected = {q: [n.note.id for n in home.recall(q, k=5).hits] for q in QUERIES}
    during: list[tuple[list[str], bool, int]] = []
    with Memory(tmp_path / "h2", store=pg_url, embedder="hashing:64", guard="off") as db:
        first = db.remember("an earlier note about the garden shed", scope="me").note
        assert _hnsw(pg_url) == ["embeddings_hnsw_64"]
        restore = db.records.restore_note_rows

        def watched(rows: Any, vectors: Any) -> Any:
            # while the index is away, search still answers (every vector compared)
            q = db.embedder.embed(["garden shed"])[0]
            found = DatabaseIndexes(db.records, 64).vectors.search(q, 1)
            during.append((_hnsw(pg_url), db.records.vector_index_deferred, found[0][0]))
            return restore(rows, vectors)

        monkeypatch.setattr(db.records, "restore_note_rows", watched)
        other = db.records.restore_other_rows

        def linking(*args: Any) -> Any:
            # thread links move the context vectors of the notes they join
            during.append((_hnsw(pg_url), db.records.vector_index_deferred, first.label))
            return other(*args)

        monkeypatch.setattr(db.records, "restore_other_rows", linking)
        restore_jsonl(db, tmp_path / "m.jsonl")
        assert len(during) >= 2 and all(d[:2] == ([], True) for d in during)
        assert all(d[2] == first.label for d in during)
        assert _hnsw(pg_url) == ["embeddings_hnsw_64"] and not db.records.vector_index_deferred
        db.forget([first.id])
        assert {q: [n.note.id for n in db.recall(q, k=5).hits] for q in QUERIES} == expected


def test_a_small_restore_keeps_the_vector_index_and_a_failed_bulk_write_rebuilds_it(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zettelmem.store import pgsearch
    from zettelmem.transfer.export import export_jsonl, restore_jsonl

    monkeypatch.setattr(pgsearch, "REBUILD_MIN", 1)
    with Memory(tmp_path / "home", embedder="hashing:64", guard="off") as home:
        home.remember("one note to carry over", scope="me")
        export_jsonl(home, tmp_path / "m.jsonl")
    with Memory(tmp_path / "h2", store=pg_url, embedder="hashing:64", guard="off") as db:
        _fill(db)  # 12 vectors held: 1 more is under REBUILD_SHARE of them
        restore = db.records.restore_note_rows
        seen: list[list[str]] = []

        def watched(rows: Any, vectors: Any) -> Any:
            seen.append(_hnsw(pg_url))
            return restore(rows, vectors)

        monkeypatch.setattr(db.records, "restore_note_rows", watched)
        assert restore_jsonl(db, tmp_path / "m.jsonl").added == 1
        assert seen == [["embeddings_hnsw_64"]]
        with pytest.raises(RuntimeError), db.records.bulk_writes(100):
            assert _hnsw(pg_url) == []
            raise RuntimeError("the import failed half-way")
        assert _hnsw(pg_url) == ["embeddings_hnsw_64"]
        # a process killed inside a bulk write leaves no index: the next write makes it
        with db.records.transaction():
            assert pgsearch.defer_vector_index(db.records, db.records.conn, 100)
        assert _hnsw(pg_url) == []
    with Memory(tmp_path / "h3", store=pg_url, embedder="hashing:64", guard="off") as again:
        again.remember("a note written after the failure", scope="me")
    assert _hnsw(pg_url) == ["embeddings_hnsw_64"]
