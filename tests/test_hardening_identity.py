"""A notes.db restored from a backup (or copied back by a sync tool) and the indexes
built from a later record recognise each other as strangers: they are rebuilt, with a
warning, and recall answers from the record that is there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("offline_env")


def _backup(home: Path, to: Path) -> None:
    to.mkdir()
    shutil.copy2(home / "notes.db", to / "notes.db")


def _restore(home: Path, backup: Path) -> None:
    for suffix in ("-wal", "-shm"):
        (home / f"notes.db{suffix}").unlink(missing_ok=True)
    shutil.copy2(backup / "notes.db", home / "notes.db")


def test_an_older_record_behind_newer_indexes_is_noticed(mem, tmp_path: Path) -> None:
    mem.remember("the red bicycle stands in the garden")
    _backup(mem.home, tmp_path / "backup")
    later = [mem.remember(f"a later note number {i} about violins") for i in range(3)]
    _restore(mem.home, tmp_path / "backup")
    result = mem.ok("recall", "violins", "--json")
    assert "Warning:" in result.stderr and "rebuil" in result.stderr
    assert not {h["id"] for h in mem.json("recall", "violins")["hits"]} & set(later)


def test_an_older_record_that_caught_up_with_new_writes_is_noticed(mem, tmp_path: Path) -> None:
    mem.remember("the red bicycle stands in the garden")
    _backup(mem.home, tmp_path / "backup")
    for i in range(3):
        mem.remember(f"a later note number {i} about violins")
    _restore(mem.home, tmp_path / "backup")
    # New writes bring the restored record's ops log back to the indexes' head: made
    # straight in the record, as a process that never opened these indexes would.
    from zettelmem.backends.embeddings import get_embedder
    from zettelmem.models import NewNote
    from zettelmem.store.records import Records

    embedder = get_embedder("hashing")
    records = Records(mem.home / "notes.db")
    fresh = []
    for i in range(4 - records.ops_head()):
        text = f"a fresh note {i} about trumpets and drums"
        new = NewNote(text, "default", "cli", dedupe_key=f"fresh-{i}")
        [(note, _)] = records.insert_notes([new], embedder.embed([text]))
        fresh.append(note.id)
    assert records.ops_head() == 4
    records.close()
    hits = mem.json("recall", "trumpets drums", "-k", "10", "--no-graph")["hits"]
    keyword_hits = {h["id"] for h in hits if h["scores"].get("bm25", 0) > 0}
    assert set(fresh) <= keyword_hits  # new notes reach BM25
    for hit in mem.json("recall", "violins", "--no-graph")["hits"]:
        assert hit["scores"].get("bm25", 0) == 0, hit  # no ghost of a note the record lost


def test_reindex_gives_the_record_and_indexes_a_new_shared_identity(mem) -> None:
    from zettelmem.memory.core import Memory

    mem.remember("a note about oboes")
    with Memory(mem.home) as memory:
        before = memory.records.get_meta("index_identity")
        memory.reindex()
        after = memory.records.get_meta("index_identity")
        assert before and after and before != after
        assert memory.indexes._read_state().identity == after
