"""The Zettelkasten write path and graph recall: note construction, links, evolution,
history and revert, hand-made links, and recall that spreads along links.

Real SQLite, tantivy and hnswlib in tmp_path; the hashing embedder unless a test
needs meaning (topic tags), then the bundled MiniLM (offline).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from overlap import beside
from zettelmem.errors import InvalidInput, NotFound
from zettelmem.memory.core import Memory
from zettelmem.models import Filters, Hit, Link, NewNote, Note
from zettelmem.retrieval import spreading
from zettelmem.zettel import construct
from zettelmem.zettel.construct import (
    LINK_MIN_COS,
    MAX_EVOLVED,
    MAX_LINKS,
    MAX_TAGS,
    STOPWORDS,
    TOPICS,
    Neighbour,
    plan_evolution,
)

# Every test here runs on the home's SQLite record and on a PostgreSQL database.
pytestmark = pytest.mark.usefixtures("store_kind")

UNKNOWN = "0000000000000000"


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Memory]:
    with Memory(tmp_path / "home", embedder="hashing:512", llm=False) as mem:
        yield mem


@pytest.fixture
def semantic(tmp_path: Path) -> Iterator[Memory]:
    """The real (offline) MiniLM embedder: for tests that need topics to mean something."""
    with Memory(tmp_path / "semantic", embedder="minilm", llm=False) as mem:
        yield mem


def _links(memory: Memory, kind: str | None = None) -> list[Link]:
    sql = "SELECT src, dst, kind, weight FROM links"
    rows = memory.records.db.execute(
        sql + (" WHERE kind=?" if kind else ""), (kind,) if kind else ()
    )
    return [Link(r[0], r[1], r[2], float(r[3])) for r in rows]


def _dangling(memory: Memory) -> list[tuple[str, str, str]]:
    return memory.records.db.execute(
        "SELECT src, dst, kind FROM links WHERE src NOT IN (SELECT id FROM notes) "
        "OR dst NOT IN (SELECT id FROM notes)"
    ).fetchall()


def _counts(memory: Memory) -> tuple[object, ...]:
    """(notes, links, history, ops head): what a write that adds nothing leaves alone."""
    stats = memory.stats()
    return tuple(stats[key] for key in ("notes", "links", "history", "ops_head"))


# -- 1. note construction ------------------------------------------------------------------

_PUNCT = re.compile(r"[.!?,;:()\[\]\"“”…—–]+")
KEYWORD_TEXTS = [
    "Caroline: I went to the LGBTQ support group yesterday, and it was so powerful.",
    "Red apples, green pears; yellow bananas and ripe mangoes!",
    "Melanie: We took the kids camping near the lake (the pine forest) last summer.",
    "Machine learning models. Machine learning models need training data; training data matters.",
]


def _runs(text: str) -> list[list[str]]:
    """The word lists of the text's pieces between punctuation (speaker removed)."""
    return [construct.words(piece) for piece in _PUNCT.split(construct.strip_speaker(text))]


def _contiguous_in(phrase: str, runs: list[list[str]]) -> bool:
    parts = phrase.split()
    return any(
        run[i : i + len(parts)] == parts for run in runs for i in range(len(run) - len(parts) + 1)
    )


@pytest.mark.parametrize("text", KEYWORD_TEXTS)
def test_keywords_are_phrases_of_content_words_from_one_stretch_of_the_text(text: str) -> None:
    kws = construct.keywords(text)
    assert kws, text
    runs = _runs(text)
    for phrase in kws:
        words = phrase.split()
        assert 1 <= len(words) <= 3, phrase
        assert not set(words) & STOPWORDS, f"stop word in {phrase!r}"
        # Never across punctuation: the words stand next to each other in one piece.
        assert _contiguous_in(phrase, runs), f"{phrase!r} is not a stretch of {text!r}"


def test_keywords_never_join_words_across_punctuation() -> None:
    kws = construct.keywords("Red apples, green pears; yellow bananas and ripe mangoes!")
    joined = " | ".join(kws)
    for pair in ("apples green", "pears yellow"):
        assert pair not in joined, kws


@pytest.mark.parametrize("text", KEYWORD_TEXTS)
def test_keywords_are_diversified(text: str) -> None:
    kws = construct.keywords(text)
    assert len(kws) == len(set(kws)) <= 6
    covered: set[str] = set()
    for phrase in kws:
        new = set(phrase.split()) - covered
        assert new, f"{phrase!r} adds no word to {kws[: kws.index(phrase)]}"
        covered |= new


def test_keywords_find_multiword_key_phrases() -> None:
    kws = construct.keywords(KEYWORD_TEXTS[0])
    assert any("support group" in phrase for phrase in kws), kws


def test_keywords_ignore_the_speaker_prefix() -> None:
    for text in (KEYWORD_TEXTS[0], "Bartholomew: lovely weather", "Jo Ann: dreadful traffic"):
        words = {w for phrase in construct.keywords(text) for w in phrase.split()}
        speaker = construct.speaker_of(text)
        assert speaker is not None
        assert not words & set(construct.words(speaker)), (text, words)
    # Without the prefix form the same word is content.
    assert "bartholomew" in " ".join(construct.keywords("bartholomew lovely weather"))


def test_context_line_says_who_and_when_for_a_dialog_turn(memory: Memory) -> None:
    note = memory.remember(KEYWORD_TEXTS[0], event_at="2023-05-08T13:56:00").note
    assert note.keywords and "caroline" not in " ".join(note.keywords)
    assert note.context == "Caroline, 8 May 2023"
    assert memory.get(note.id).context == note.context


def test_a_plain_note_has_key_phrases_and_no_context_line(memory: Memory) -> None:
    note = memory.remember("Replace the bathroom extractor fan before the winter damp.").note
    assert note.keywords and note.context == ""
    dated = memory.remember("Fit the new extractor fan.", event_at="2024-11-02").note
    assert dated.context == "2 November 2024"


def test_given_tags_are_kept_first_and_all_of_them(memory: Memory) -> None:
    given = [f"t{i}" for i in range(MAX_TAGS + 2)]
    note = memory.remember("many tags on one short note about nothing", tags=given).note
    assert list(note.tags[: len(given)]) == given
    few = memory.remember("a second note with two tags", tags=["zeta", "alpha"]).note
    assert few.tags[:2] == ("zeta", "alpha")
    assert memory.get(few.id).tags[:2] == ("zeta", "alpha")


def test_a_musical_note_gets_the_music_topic_tag(semantic: Memory) -> None:
    note = semantic.remember(
        "I played guitar and sang songs with my band at the concert.", tags=["mine"]
    ).note
    assert note.tags[0] == "mine"
    assert "music" in note.tags
    other = semantic.remember("I filed my tax return and paid the accountant's invoice.").note
    assert "music" not in other.tags
    assert len(note.tags) <= MAX_TAGS


# -- 2. links --------------------------------------------------------------------------------

ZEBRA = "the zebra crossing near the old railway station is busy at noon"
ZEBRA2 = "the zebra crossing near the old railway station is quiet at noon"
KETTLE = "descaling the kettle with white vinegar and lemon"


def test_related_links_are_two_way_and_weighted_by_cosine(memory: Memory) -> None:
    a = memory.remember(ZEBRA).note
    b = memory.remember(ZEBRA2).note
    c = memory.remember(KETTLE).note
    related = {(x.src, x.dst): x.weight for x in _links(memory, "related")}
    assert set(related) == {(a.id, b.id), (b.id, a.id)}
    own = memory.records.vectors([a.label, b.label])
    cos = float(own[a.label] @ own[b.label])
    assert cos >= LINK_MIN_COS
    assert related[(a.id, b.id)] == related[(b.id, a.id)] == pytest.approx(cos, abs=1e-3)
    assert memory.links(c.id) == []
    weight = related[(a.id, b.id)]
    expected = {Link(a.id, b.id, "related", weight), Link(b.id, a.id, "related", weight)}
    assert set(memory.links(a.id)) == expected


def test_a_batch_looks_up_its_vector_neighbours_while_its_keyword_searches_run(
    memory: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = memory.remember(ZEBRA).note
    text, vectors = memory.indexes.text, memory.indexes.vectors
    seen = beside(monkeypatch, (text, "search"), (vectors, "search_many"))
    memory.remember_many([NewNote(ZEBRA2, "default", "cli"), NewNote(KETTLE, "default", "cli")])
    assert seen == [(False, True)]
    b = memory.recall(ZEBRA2, k=1).hits[0].note
    assert {(x.src, x.dst) for x in _links(memory, "related")} == {(a.id, b.id), (b.id, a.id)}


def test_a_new_note_links_to_at_most_max_links_neighbours_the_closest(memory: Memory) -> None:
    stored = [
        memory.remember(f"{ZEBRA} {w}").note
        for w in ["today", "again", "sadly", "truly", "mostly", "hourly"]
    ]
    written = memory.remember(f"{ZEBRA} daily")
    new = written.note
    assert written.created and all(x.src == new.id for x in written.links)
    out = [x for x in written.links if x.kind == "related"]
    assert len(out) == MAX_LINKS  # six close neighbours, only the closest four
    own = memory.records.vectors([n.label for n in [*stored, new]])
    cos = {n.id: float(own[n.label] @ own[new.label]) for n in stored}
    linked = {x.dst for x in out}
    assert (
        min(cos[i] for i in linked)
        >= max((cos[i] for i in cos if i not in linked), default=-1.0) - 1e-6
    )


def test_links_never_cross_scopes_never_loop_and_never_dangle(memory: Memory) -> None:
    memory.remember(ZEBRA, scope="a")
    memory.remember(ZEBRA2, scope="a")
    memory.remember(ZEBRA, scope="b")  # the same text in another scope is another note
    memory.remember(ZEBRA2, scope="b")
    when = "2024-01-01T10:00:00"
    memory.remember_many(
        [
            NewNote(f"{ZEBRA} turn {i}", scope=s, source="chat:c1/" + str(i), event_at=when)
            for i, s in enumerate("aabab")
        ]
    )
    rows = memory.records.db.execute(
        "SELECT l.kind, a.scope, b.scope FROM links l JOIN notes a ON a.id=l.src "
        "JOIN notes b ON b.id=l.dst"
    ).fetchall()
    assert rows, "expected links"
    assert {r[0] for r in rows} >= {"related", "follows"}
    assert all(r[1] == r[2] for r in rows), [tuple(r) for r in rows if r[1] != r[2]]
    assert not memory.records.db.execute("SELECT 1 FROM links WHERE src=dst").fetchall()
    assert _dangling(memory) == []


def test_consecutive_turns_of_a_session_follow_each_other(memory: Memory) -> None:
    day, later, next_day = "2024-01-01T10:00:00", "2024-01-01T11:00:00", "2024-01-05T10:00:00"
    turns = [
        ("s", "chat:c1/1", day),
        ("s", "chat:c1/2", day),
        ("t", "chat:c1/3", day),
        ("s", "chat:c1/4", later),
        ("s", "chat:c2/5", later),
        ("s", "chat:c1/6", next_day),
    ]
    summary = memory.remember_many(
        [
            NewNote(f"turn {i} about word{i}", scope=scope, source=src, event_at=at)
            for i, (scope, src, at) in enumerate(turns, 1)
        ]
    )
    ids = dict(zip(range(1, 7), summary.ids))
    follows = {(x.src, x.dst) for x in _links(memory, "follows")}
    # 2 follows 1; 3 is in another scope; 4 follows 2; 5 is another thread; 6 a new session.
    assert follows == {(ids[2], ids[1]), (ids[4], ids[2])}


def test_remembering_a_duplicate_adds_no_links_and_no_history(memory: Memory) -> None:
    first = memory.remember(ZEBRA).note
    memory.remember(ZEBRA2)
    before = _counts(memory)
    links = set(memory.links(first.id))
    _written = memory.remember(ZEBRA)
    again, created = _written.note, _written.created
    assert not created and again.id == first.id
    assert _counts(memory) == before
    assert set(memory.links(first.id)) == links


def test_a_duplicate_inside_one_batch_adds_no_links(memory: Memory) -> None:
    memory.remember(ZEBRA)
    memory.remember_many([NewNote(ZEBRA2, "default", "cli"), NewNote(ZEBRA2, "default", "cli")])
    assert memory.records.count() == 2
    assert not memory.records.db.execute("SELECT 1 FROM links WHERE src=dst").fetchall()
    assert _dangling(memory) == []
    assert len(_links(memory, "related")) == 2


def test_a_duplicate_inside_one_batch_is_counted_once(memory: Memory) -> None:
    summary = memory.remember_many(
        [NewNote(ZEBRA, "default", "cli"), NewNote(ZEBRA, "default", "cli")]
    )
    assert memory.records.count() == 1
    assert (summary.added, summary.skipped) == (1, 1)
    assert len(summary.ids) == 1


def test_forgetting_leaves_no_dangling_links_or_history(memory: Memory) -> None:
    when = "2024-01-01T10:00:00"
    summary = memory.remember_many(
        [NewNote(f"{ZEBRA} part {i}", "default", f"chat:c1/{i}", event_at=when) for i in range(4)]
    )
    loose = [memory.remember(f"{ZEBRA} {w}").note.id for w in ["today", "again", "sadly"]]
    memory.link(loose[0], summary.ids[1], "mentions", 0.5)
    assert len(_links(memory)) > 6
    gone = [summary.ids[1], loose[1]]
    memory.forget(gone)
    assert _dangling(memory) == []
    for note_id in gone:
        hits = memory.records.db.execute(
            "SELECT 1 FROM links WHERE src=? OR dst=?", (note_id, note_id)
        ).fetchall()
        assert hits == []
        assert (
            memory.records.db.execute(
                "SELECT 1 FROM history WHERE note_id=?", (note_id,)
            ).fetchall()
            == []
        )
    # The thread closes over the gap: part 2 follows part 0 now.
    follows = {(x.src, x.dst) for x in _links(memory, "follows")}
    assert (summary.ids[2], summary.ids[0]) in follows


# -- 3. evolution ----------------------------------------------------------------------------


def test_plan_evolution_gives_topic_tags_to_at_most_max_evolved_closest_neighbours() -> None:
    near = [
        Neighbour(f"n{i}", i, cos, ("music",))
        for i, cos in enumerate([0.6, 0.9, 0.7, 0.8, 0.65, 0.3])
    ]
    changes = plan_evolution("new", ["mine", "music", "events"], near, list(TOPICS))
    assert [c.note_id for c in changes] == ["n1", "n3", "n2"][:MAX_EVOLVED]
    for c in changes:
        assert c.field == "tags"
        assert json.loads(c.before) == ["music"]
        assert json.loads(c.after) == ["music", "events"]  # "mine" is not a topic: not offered
        assert c.reason.startswith("evolved by new")


def test_plan_evolution_skips_far_full_or_satisfied_neighbours_and_itself() -> None:
    full = tuple(f"x{i}" for i in range(MAX_TAGS))
    near = [
        Neighbour("far", 1, construct.EVOLVE_MIN_COS - 0.01, ()),
        Neighbour("full", 2, 0.9, full),
        Neighbour("has", 3, 0.9, ("events", "music")),
    ]
    assert plan_evolution("new", ["music", "events"], near, list(TOPICS)) == []
    assert plan_evolution("new", ["music"], [Neighbour("new", 0, 1.0, ())], list(TOPICS)) == []
    almost = [Neighbour("almost", 4, 0.9, full[:-1])]
    [change] = plan_evolution("new", ["music", "events"], almost, list(TOPICS))
    assert json.loads(change.after) == [*full[:-1], "music"]  # never over MAX_TAGS


MUSIC = "music songs concert guitar piano band singing"


def _evolved_by(memory: Memory, cause: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for note in memory.list_notes(limit=1000):
        for c in memory.history(note.id):
            if c.field == "tags" and c.reason.startswith(f"evolved by {cause}"):
                out.setdefault(note.id, []).append(c)
    return out


def test_a_close_new_note_evolves_the_tags_of_its_closest_neighbours(memory: Memory) -> None:
    stored = [
        memory.remember(f"{MUSIC} {w}").note
        for w in ["tonight", "yesterday", "weekly", "outdoors", "loudly"]
    ]
    assert all(n.tags == ("music",) for n in stored), [n.tags for n in stored]
    new = memory.remember(f"{MUSIC} with party wedding birthday celebration").note
    assert "music" in new.tags and "events" in new.tags
    evolved = _evolved_by(memory, new.id)
    assert len(evolved) == MAX_EVOLVED
    weights = {x.dst: x.weight for x in memory.links(new.id) if x.src == new.id}
    assert set(evolved) <= set(weights)
    assert min(weights[i] for i in evolved) >= max(
        (w for i, w in weights.items() if i not in evolved), default=0.0
    )
    for note in stored:
        now = memory.get(note.id)
        assert now.content == note.content  # content never changes
        if note.id in evolved:
            [change] = evolved[note.id]
            assert json.loads(change.before) == ["music"]
            assert json.loads(change.after) == ["music", "events"]
            assert now.tags == ("music", "events")
            assert change.change_id and change.at and change.reverted_by is None
            assert memory.history(note.id) == [change]
        else:
            assert now.tags == ("music",) and memory.history(note.id) == []
    # The record's tag filter sees the evolved tags at once.
    hits = memory.recall(MUSIC, k=10, filters=memory.filters(tags=["events"]), graph=False).hits
    assert {h.note.id for h in hits} == {*evolved, new.id}


def test_evolution_with_the_real_embedder_and_related_sentences(semantic: Memory) -> None:
    music = [
        "We sang songs at the concert while the band played guitar.",
        "The band played guitar and piano at the concert and we sang songs.",
        "I love singing songs at concerts when my band plays guitar.",
    ]
    stored = [semantic.remember(text).note for text in music]
    dog = semantic.remember("I adopted a puppy and we walk the dog in the park.").note
    assert all("music" in n.tags and "events" not in n.tags for n in stored)
    new = semantic.remember(
        "The band played guitar and we sang songs at my birthday party celebration."
    ).note
    assert {"music", "events"} <= set(new.tags)
    evolved = _evolved_by(semantic, new.id)
    assert 2 <= len(evolved) <= MAX_EVOLVED
    assert set(evolved) <= {n.id for n in stored}
    for note in stored:
        assert semantic.get(note.id).content == note.content
        if note.id in evolved:
            assert "events" in semantic.get(note.id).tags
    assert semantic.get(dog.id).tags == dog.tags and semantic.history(dog.id) == []


def _evolve(memory: Memory, note_id: str, cause: str, tags: list[str]) -> str:
    """One evolution of a stored note planned by zettel, applied by the record."""
    note = memory.get(note_id)
    planned = plan_evolution(
        cause, tags, [Neighbour(note.id, note.label, 0.9, note.tags)], list(TOPICS)
    )
    [logged] = memory.records.apply_changes(planned)
    return logged.change_id


def test_revert_restores_the_value_logs_the_undo_and_marks_the_change(memory: Memory) -> None:
    stored = [memory.remember(f"{MUSIC} {w}").note for w in ["tonight", "yesterday"]]
    new = memory.remember(f"{MUSIC} with party wedding birthday celebration").note
    note = stored[0]
    [change] = memory.history(note.id)
    undo = memory.revert(change.change_id)
    assert (undo.note_id, undo.field) == (note.id, "tags")
    assert (undo.before, undo.after) == (change.after, change.before)
    assert undo.reason == f"revert of {change.change_id}" and undo.change_id
    assert memory.get(note.id).tags == ("music",)
    assert memory.get(note.id).content == note.content
    first, second = memory.history(note.id)
    assert first.change_id == change.change_id and first.reverted_by == undo.change_id
    assert second.change_id == undo.change_id and second.reverted_by is None
    hits = memory.recall(MUSIC, k=10, filters=memory.filters(tags=["events"]), graph=False).hits
    assert note.id not in {h.note.id for h in hits} and new.id in {h.note.id for h in hits}
    with pytest.raises(InvalidInput, match="already reverted"):
        memory.revert(change.change_id)
    with pytest.raises(NotFound):
        memory.revert(UNKNOWN)
    with pytest.raises(NotFound):
        memory.history(UNKNOWN)
    assert len(memory.history(note.id)) == 2 and memory.get(note.id).tags == ("music",)


def test_revert_refuses_when_the_field_changed_again(memory: Memory) -> None:
    note = memory.remember(MUSIC).note
    assert note.tags == ("music",)
    c1 = _evolve(memory, note.id, "cause1", ["events"])
    c2 = _evolve(memory, note.id, "cause2", ["food"])
    assert memory.get(note.id).tags == ("music", "events", "food")
    with pytest.raises(InvalidInput, match="changed again"):
        memory.revert(c1)
    assert memory.get(note.id).tags == ("music", "events", "food")
    assert [c.change_id for c in memory.history(note.id)] == [c1, c2]
    memory.revert(c2)
    assert memory.get(note.id).tags == ("music", "events")
    memory.revert(c1)
    assert memory.get(note.id).tags == ("music",)
    changes = memory.history(note.id)
    assert len(changes) == 4 and all(c.reverted_by for c in changes[:2])


def test_two_notes_of_one_batch_evolving_one_neighbour_keep_both_tags(memory: Memory) -> None:
    old = memory.remember(f"{MUSIC} tonight").note
    memory.remember_many(
        [
            NewNote(f"{MUSIC} tonight with party wedding birthday celebration", "default", "cli"),
            NewNote(f"{MUSIC} tonight with food cooking recipe dinner", "default", "cli"),
        ]
    )
    changes = [c for c in memory.history(old.id) if c.field == "tags"]
    assert len(changes) == 2
    for c in changes:  # evolution only ever adds tags
        assert set(json.loads(c.before)) <= set(json.loads(c.after)), c
    assert {"music", "events", "food"} <= set(memory.get(old.id).tags)


# -- 4. graph recall -------------------------------------------------------------------------


@pytest.fixture
def graph_notes(memory: Memory) -> dict[str, Note]:
    """A query target linked by hand to an unrelated note, a note in another scope and a
    superseded one; every link is the only way the query could reach them."""
    notes = {
        "a": memory.remember("zebra crossing outside the railway station", tags=["road"]).note,
        "b": memory.remember("descaling the kettle with white vinegar").note,
        "c": memory.remember("penguins waddle across the icy beach", scope="other").note,
        "d": memory.remember("marmalade from seville oranges and sugar").note,
        "e": memory.remember("the lighthouse keeper polishes brass lamps").note,
        "f": memory.remember("quiet reading room upstairs in the library").note,
    }
    for key in "bcd":
        memory.link(notes["a"].id, notes[key].id, "related", 1.0)
    memory.link(notes["e"].id, notes["d"].id, "supersedes")
    return notes


QUERY = "zebra crossing railway station"


def _by_id(hits: list[Hit]) -> dict[str, Hit]:
    return {h.note.id: h for h in hits}


def test_graph_recall_brings_linked_notes_with_a_graph_part_and_via(
    memory: Memory, graph_notes: dict[str, Note]
) -> None:
    a, b = graph_notes["a"], graph_notes["b"]
    hits = memory.recall(QUERY, k=5, filters=memory.filters(scope="default")).hits
    assert hits[0].note.id == a.id
    found = _by_id(hits)
    assert b.id in found
    assert found[b.id].scores["graph"] > 0
    assert found[b.id].via == Link(a.id, b.id, "related", 1.0)
    seeds = {
        h.note.id
        for h in memory.recall(
            QUERY, k=10, filters=memory.filters(scope="default"), graph=False
        ).hits
    }
    for hit in hits:
        if hit.via is not None:
            assert hit.via.dst == hit.note.id and hit.via.src in seeds
            assert "graph" in hit.scores
        else:
            assert "graph" not in hit.scores


def test_recall_without_graph_has_no_graph_parts(
    memory: Memory, graph_notes: dict[str, Note]
) -> None:
    for filters in (None, memory.filters(scope="default"), memory.filters(include_superseded=True)):
        hits = memory.recall(QUERY, k=6, filters=filters, graph=False).hits
        assert hits
        assert all(h.via is None and "graph" not in h.scores for h in hits)


def test_filters_apply_to_notes_the_graph_brings(
    memory: Memory, graph_notes: dict[str, Note]
) -> None:
    a, c, d = graph_notes["a"], graph_notes["c"], graph_notes["d"]
    assert memory.get(d.id).status == "superseded"
    scoped = _by_id(memory.recall(QUERY, k=6, filters=memory.filters(scope="default")).hits)
    assert c.id not in scoped and d.id not in scoped
    # The filters, not the graph, kept them out: lift each and it comes in along its link.
    anywhere = _by_id(memory.recall(QUERY, k=6).hits)
    assert anywhere[c.id].via == Link(a.id, c.id, "related", 1.0)
    assert d.id not in anywhere
    with_old = _by_id(
        memory.recall(
            QUERY, k=6, filters=memory.filters(scope="default", include_superseded=True)
        ).hits
    )
    assert with_old[d.id].via == Link(a.id, d.id, "related", 1.0)
    assert with_old[d.id].note.status == "superseded"
    tagged = memory.recall(QUERY, k=6, filters=memory.filters(tags=["road"])).hits
    assert [h.note.id for h in tagged] == [a.id]


def test_a_strong_hit_spreads_along_one_way_links_both_ways(memory: Memory) -> None:
    when = "2024-01-01T10:00:00"
    first, second = memory.remember_many(
        [
            NewNote("penguins waddle across the icy beach", "default", "chat:c/1", event_at=when),
            NewNote("lighthouse keeper polishes brass lamps", "default", "chat:c/2", event_at=when),
        ]
    ).ids
    assert memory.links(second) == [Link(second, first, "follows", 1.0)]
    hits = _by_id(memory.recall("penguins waddle icy beach", k=5).hits)
    top = hits[first]
    assert max(hits.values(), key=lambda h: h.score) is top
    follower = hits[second]
    assert follower.via is not None and follower.via.src == first
    # its own match: before the follower lifts it, and without its prior (a seed passes on
    # how well it matched, not how much it says)
    seed = top.scores["final"] - top.scores["graph"] - top.scores["prior"]
    flow = spreading.KIND_FLOW["follows"] * seed
    assert follower.scores["graph"] >= flow * 0.99


def _answers(memory: Memory) -> list[object]:
    out: list[object] = []
    for query in (QUERY, "kettle vinegar", "library lamps oranges"):
        for filters in (None, Filters(scope="default"), memory.filters(include_superseded=True)):
            hits = memory.recall(query, k=5, filters=filters).hits
            out.append([(h.note.id, h.scores, h.via) for h in hits])
    return out


def test_graph_recall_answers_the_same_after_reindex(
    memory: Memory, graph_notes: dict[str, Note], tmp_path: Path
) -> None:
    before = _answers(memory)
    assert any(via is not None for answer in before for _, _, via in answer)
    memory.reindex()
    assert _answers(memory) == before
    with Memory(tmp_path / "home", embedder="hashing:512", llm=False) as again:
        assert _answers(again) == before


# -- 5. links by hand ------------------------------------------------------------------------


def test_link_validates_kind_ends_and_weight_before_writing(memory: Memory) -> None:
    a = memory.remember(ZEBRA).note
    b = memory.remember(KETTLE).note
    before = _counts(memory)
    with pytest.raises(InvalidInput, match="kind"):
        memory.link(a.id, b.id, "bogus")
    with pytest.raises(InvalidInput, match="itself"):
        memory.link(a.id, a.id, "related")
    for weight in (0.0, -0.5, 1.0001, 2.0, math.nan, math.inf):
        with pytest.raises(InvalidInput, match="weight"):
            memory.link(a.id, b.id, "related", weight)
    with pytest.raises(NotFound):
        memory.link(a.id, UNKNOWN, "related")
    with pytest.raises(NotFound):
        memory.link(UNKNOWN, a.id, "mentions")
    assert _counts(memory) == before
    assert memory.links(a.id) == []
    assert memory.link(a.id, b.id, "mentions", 0.25) == Link(a.id, b.id, "mentions", 0.25)
    assert memory.links(b.id) == [Link(a.id, b.id, "mentions", 0.25)]  # one way
    memory.link(a.id, b.id, "related", 1.0)
    assert {(x.src, x.dst) for x in memory.links(a.id) if x.kind == "related"} == {
        (a.id, b.id),
        (b.id, a.id),
    }
    with pytest.raises(NotFound):
        memory.links(UNKNOWN)


def test_supersedes_link_hides_the_older_note_until_reverted(memory: Memory) -> None:
    old = memory.remember("my dentist is doctor alvarez on harbour street").note
    new = memory.remember("the dentist appointment is booked with doctor okafor").note

    def recalled(**filters: object) -> dict[str, Hit]:
        query = "dentist alvarez harbour street"
        return _by_id(memory.recall(query, k=5, filters=memory.filters(**filters)).hits)

    assert old.id in recalled()
    memory.link(new.id, old.id, "supersedes")
    assert memory.get(old.id).status == "superseded"
    assert memory.get(new.id).status == "active"
    assert Link(new.id, old.id, "supersedes", 1.0) in memory.links(old.id)
    assert old.id not in recalled()
    assert recalled(include_superseded=True)[old.id].note.status == "superseded"
    [change] = memory.history(old.id)
    assert (change.field, change.before, change.after) == ("status", "active", "superseded")
    assert new.id in change.reason
    memory.revert(change.change_id)
    assert memory.get(old.id).status == "active"
    assert old.id in recalled()
    assert memory.history(old.id)[0].reverted_by


# Notes about one person: they share her name, so they sit close to each other without
# sharing a subject. The writer tags her job notes "work".
ONE_PERSON = [
    ("Ines works as a hydrologist at the water authority, modelling river floods.", ["work"]),
    ("Ines's manager at the authority is Pedro Sousa; his Monday meetings run long.", ["work"]),
    ("Ines presented her flood model at the authority's annual review in May.", ["work"]),
    ("Ines's team at the authority is hiring a second hydrologist this autumn.", ["work"]),
    ("Ines is allergic to peanuts and always carries antihistamines.", []),
    ("Ines plays the violin in a community orchestra on Thursday evenings.", []),
    ("Ines's brother Rui lives in Porto with his two cats.", []),
    ("Ines prefers green tea and never drinks coffee after lunch.", []),
    ("Ines and her partner adopted a greyhound called Faísca last spring.", []),
    ("Ines ran her first half marathon in Lisbon in March.", []),
]


def test_a_writers_tag_does_not_travel_to_notes_that_only_share_a_name(
    semantic: Memory,
) -> None:
    """Neither evolution nor a new note's inherited tags carry a tag its writer gave onto
    notes that are about something else (each merely as close as notes about one person
    are)."""
    for text, tags in ONE_PERSON:
        semantic.remember(text, tags=tags, source="mcp:agent")
    given = {text for text, tags in ONE_PERSON if "work" in tags}
    stray = [n.content for n in semantic.list_notes(limit=100)
             if "work" in n.tags and n.content not in given]  # fmt: skip
    assert stray == []


RARE = ("kayaking", "origami", "beekeeping", "falconry", "pottery", "fencing", "juggling",
        "calligraphy", "sailing", "welding")  # fmt: skip


def _hobby_notes(scope: str) -> list[NewNote]:
    return [
        NewNote(f"Nate: That is really awesome, it reminds me of {RARE[i % 10]} with "
                f"{('Joanna', 'Tim', 'Ana', 'Sam')[i % 4]} back then.", scope, f"chat:{i}")
        for i in range(40)
    ]  # fmt: skip


def test_keywords_do_not_hang_on_where_a_batch_begins(tmp_path: Path) -> None:
    """A note's key phrases weigh words by their rarity in the store as it will be,
    the batch being written included: a conversation imported as one batch into an
    empty store gets the same key phrases as the same turns written in two batches
    (not every word equally rare, which left them to alphabetical order)."""
    with Memory(tmp_path / "h", embedder="hashing:512", llm=False) as memory:
        memory.remember_many(_hobby_notes("one"), batch_size=40)
        memory.remember_many(_hobby_notes("two"), batch_size=20)
        notes = memory.list_notes(limit=100)
    by = {(n.scope, n.content): n.keywords for n in notes}
    for note in _hobby_notes("one"):
        keywords = by[("one", note.content)]
        assert keywords == by[("two", note.content)]
        rare = next(w for w in RARE if w in note.content)
        assert rare in keywords[0], keywords  # the rare word leads, not 'awesome'
