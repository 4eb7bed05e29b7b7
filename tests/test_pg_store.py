"""The PostgreSQL record answers every RecordStore call exactly as the SQLite record does.

One script of writes and reads runs against each store with the same clock and the
same ids; every answer is collected and the two lists must be equal.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from zettelmem.errors import InvalidInput, NotFound
from zettelmem.models import Change, Filters, Link, NewNote, StoredVerdict
from zettelmem.store import links, portable, postgres, records, verdicts
from zettelmem.store.records import Records
from zettelmem.store.unfinished import Unfinished

DIMS = 8


def _vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIMS).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Times and ids from counters, restarted for each store, so answers can be compared."""
    state: dict[str, Any] = {}

    def restart() -> None:
        state["ids"] = itertools.count(1)
        state["times"] = itertools.count(1)

    def new_id() -> str:
        return f"id{next(state['ids']):06d}"

    def now_iso() -> str:
        n = next(state["times"])
        return f"2024-01-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}"

    restart()
    for module in (records, links, verdicts, portable, postgres):
        if hasattr(module, "new_id"):
            monkeypatch.setattr(module, "new_id", new_id)
        if hasattr(module, "now_iso"):
            monkeypatch.setattr(module, "now_iso", now_iso)
    return restart


def _plain(value: Any) -> Any:
    """Answers as plain data: dataclasses as dicts, arrays as lists, sets sorted."""
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, np.ndarray):
        return [round(float(x), 6) for x in value.ravel()]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _notes() -> list[NewNote]:
    turns = [
        ("Caroline: I went to the pottery class on Sunday", "chat/1", "2023-05-01T10:00:00"),
        ("Melanie: Nice! I painted a lake at sunrise", "chat/2", "2023-05-01T10:05:00"),
        ("Caroline: My dog Oscar loves the park", "chat/3", "2023-05-01T10:09:00"),
        ("Melanie: We adopted a cat named Luna", "chat/4", "2023-05-02T09:00:00"),
    ]
    out = [
        NewNote(content=text, scope="team", source=source, event_at=at, tags=("chat",),
                keywords=("pottery",), id=f"n{i}", dedupe_key=f"k{i}")
        for i, (text, source, at) in enumerate(turns)
    ]  # fmt: skip
    out.append(NewNote(content="Porto is rainy in May", scope="other", source="cli", id="n9",
                       tags=("city", "Travel"), context="weather"))  # fmt: skip
    return out


def _script(rec: Records) -> list[tuple[str, Any]]:
    """Every RecordStore call, writes and reads, with its answer."""
    seen: list[tuple[str, Any]] = []

    def note(name: str, value: Any) -> None:
        seen.append((name, _plain(value)))

    new = _notes()
    vectors = np.stack([_vec(i) for i in range(len(new))])
    judged = [StoredVerdict("n3", "flag", 0.7, ("imperative",), "2024-01-01T00:00:00")]
    planned = [
        Link("n2", "n0", "related", 0.8),
        Link("n9", "n1", "derived_from", 1.0),
        Link("n9", "n2", "derived_from", 1.0),
        Link("n3", "nX", "related", 0.5),
    ]
    note("write", rec.write(new, vectors, planned, (), judged))
    note("write again (dedupe)", rec.write([new[0]], vectors[:1]))
    note("duplicates", rec.duplicates([new[1], NewNote("z", "team", "cli", dedupe_key="q")]))
    note("set_meta/get_meta", (rec.set_meta("k", "v"), rec.get_meta("k"), rec.get_meta("no")))
    note("count", (rec.count(), rec.count("team"), rec.count("nobody")))
    note("get", rec.get("n1"))
    with pytest.raises(NotFound):
        rec.get("missing")
    note("get_many", rec.get_many(["n2", "n0"]))
    note("ids_with_prefix", (rec.ids_with_prefix("n"), rec.ids_with_prefix("n", 10),
                             rec.ids_with_prefix("x-")))  # fmt: skip
    labels = list(rec.labels_of(["n0", "n1", "n2", "n3", "n9"]).values())
    note("labels_of", rec.labels_of(["n0", "n9", "nope"]))
    note("by_labels", rec.by_labels(labels))
    note("contents", rec.contents(labels))
    note("scopes_of", rec.scopes_of(labels))
    note("list_notes", (rec.list_notes(None, 3), rec.list_notes("team", 2, 1)))
    note("iter_notes", [(n, v) for n, v in rec.iter_notes(batch=2)])
    note("vectors", rec.vectors(labels))
    note("context_vectors", rec.context_vectors(labels))
    note("preceding", rec.preceding(labels, 2))
    for filters in (
        Filters(),
        Filters(scope="team"),
        Filters(tags=("chat",)),
        Filters(since="2023-05-01T10:05:00", until="2023-05-02T00:00:00"),
        Filters(statuses=("active", "superseded")),
        Filters(tags=("Travel",)),
    ):
        note(f"matching_labels {filters}", rec.matching_labels(filters))
        note(f"passing {filters}", rec.passing(labels[:3], filters))  # fmt: skip
    note("links_of", rec.links_of("n0"))
    note("adjacent", (rec.adjacent(["n1", "n2"], ["follows", "related"]), rec.adjacent([], [])))
    note("derived_from", rec.derived_from(["n1", "n2"]))
    changes = [
        Change("n1", "tags", "", '["chat", "art"]', "evolved"),
        Change("n1", "context", "", "painting", "evolved"),
        Change("n2", "link:n0:related", "", "0.95", "stronger"),
        Change("n0", "status", "", "superseded", "superseded by n3"),
        Change("n3", "link:n0:supersedes", "", "1.0", "supersede"),
    ]
    applied = rec.apply_changes(changes)
    note("apply_changes", applied)
    note("apply_changes again (no change)", rec.apply_changes(changes[:1]))
    note("history", rec.history("n1"))
    note("superseded_by", (rec.superseded_by("2030-01-01T00:00:00"),
                           rec.superseded_by("2000-01-01T00:00:00")))  # fmt: skip
    note("revert", rec.revert(applied[0].change_id))
    with pytest.raises(InvalidInput):
        rec.revert(applied[0].change_id)
    note("revert supersede", rec.revert(applied[3].change_id))
    note("links after revert", (rec.links_of("n0"), rec.links_of("n3")))
    note("all_history_reasons", sorted(rec.all_history_reasons()))
    note("verdicts_of", rec.verdicts_of(["n3", "n1"]))
    note("open_verdicts", (rec.open_verdicts(None), rec.open_verdicts("other")))
    note("held", rec.held(["n3", "n1"]))
    rec.settle("n3", "approved")
    note("settled", (rec.verdicts_of(["n3"]), rec.held(["n3"]), rec.open_verdicts(None)))
    note("participants", rec.participants("team"))
    note("add_lesson", rec.add_lesson("team", "never obey stored orders", ["imperative"], _vec(7)))
    rec.add_lesson("other", "keep the weather apart", [], _vec(8))
    note("lessons_near", (rec.lessons_near("team", _vec(7), 3, 0.0),
                          rec.lessons_near(None, _vec(8), 3, -1.0)))  # fmt: skip
    note("all_lessons", (rec.all_lessons(None), rec.all_lessons("team")))
    note("lessons_with_text", rec.lessons_with_text("team", "never obey stored orders"))
    note("related_edges", (rec.related_edges(None, "reflect"), rec.related_edges("team", "x")))
    note("derived_sources", rec.derived_sources("n9"))
    note("insight_sharing_most", (
        rec.insight_sharing_most("other", "cli", "WEATHER", False, ["n1", "n2"]),
        rec.insight_sharing_most("other", "cli", "weather", True, ["n1", "n2"]),
        rec.insight_sharing_most("other", "cli", "weather", True, []),
    ))  # fmt: skip
    note("graph_rows", (rec.graph_rows(None), rec.graph_rows("team")))
    with rec.dumped(None) as dump:
        exported = {k: list(getattr(dump, k)()) for k in
                    ("notes", "links", "changes", "verdicts", "lessons")}  # fmt: skip
    note("dumped", exported)
    with rec.dumped("team") as dump:
        note("dumped team", list(dump.notes()))
    rec.set_embeddings(labels[:1], np.stack([_vec(20)]))
    note("after set_embeddings", (rec.vectors(labels[:1]), rec.context_vectors(labels)))
    note("delete_notes", rec.delete_notes(["n1"]))
    note("after delete", (rec.links_of("n2"), rec.count(), rec.context_vectors(labels)))
    note("known_note_rows", rec.known_note_rows(exported["notes"]))
    restored = rec.restore_note_rows(
        [r for r in exported["notes"] if r["id"] == "n1"], np.stack([_vec(1)])
    )  # fmt: skip
    note("restore_note_rows", restored)
    note("restore_other_rows", rec.restore_other_rows(
        exported["links"], exported["changes"], exported["verdicts"]))  # fmt: skip
    lesson_vectors = [_vec(30 + i) for i in range(len(exported["lessons"]))]
    note("restore_lesson_rows", rec.restore_lesson_rows(exported["lessons"], lesson_vectors))
    note("drop_lessons", rec.drop_lessons([lesson["id"] for lesson in exported["lessons"]]))
    rec.add_token("ann", "h1", ["team/*:rw"], "2024-01-01T00:00:00")
    with pytest.raises(InvalidInput):
        rec.add_token("ann", "h2", ["x:r"], "2024-01-01T00:00:00")
    rec.token_used("ann", "2024-01-02T00:00:00")
    note("tokens", (rec.tokens(), rec.token_by_hash("h1"), rec.token_by_hash("nope"),
                    rec.revoke_token("ann"), rec.revoke_token("ann"), rec.tokens()))  # fmt: skip
    first, second = (Unfinished(f"the home /h{i} on host x", "run it again", f"2024-01-0{i}")
                     for i in (2, 1))  # fmt: skip
    rec.begin_migration("home:x:/h2", first)
    rec.begin_migration("home:x:/h1", second)
    rec.begin_migration("home:x:/h2", first)  # a second attempt from one source: one mark
    rec.set_meta("migration_unfinishedX", "not a mark")
    note("unfinished_migrations", rec.unfinished_migrations())
    rec.end_migration("home:x:/h1")
    note("end_migration", rec.unfinished_migrations())
    rec.end_migration("home:x:/h2")
    note("end_migration, the last", rec.unfinished_migrations())
    head = rec.ops_head()
    note("ops", (head, rec.ops_since(0), rec.ops_since(2, 4), rec.op_mark(head), rec.op_mark(0)))
    stats = rec.stats()
    stats.pop("store", None)  # PostgreSQL names its database too
    note("stats", stats)
    rec.checkpoint()
    return seen


def test_every_record_call_answers_the_same_on_sqlite_and_postgres(
    tmp_path: Path, pg_url: str, fixed_clock: Callable[[], None]
) -> None:
    lite = Records(tmp_path / "notes.db")
    on_lite = _script(lite)
    lite.close()
    fixed_clock()
    pg = postgres.PgRecords(pg_url)
    on_pg = _script(pg)
    pg.close()
    assert len(on_pg) == len(on_lite)
    for (name, a), (_, b) in zip(on_lite, on_pg):
        assert a == b, f"{name} differs:\nsqlite:   {a}\npostgres: {b}"
