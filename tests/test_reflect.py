"""reflect: insight notes from link communities or a topic, derived_from their sources;
re-running leaves unchanged clusters alone and supersedes changed insights; LLM mode
through the shipped ScriptedLLM, falling back to the offline digest when it fails.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zettelmem.backends.llm import ScriptedLLM
from zettelmem.memory.core import Memory
from zettelmem.models import Note
from zettelmem.zettel import reflect
from zettelmem.zettel.reflect import INSIGHT_SOURCE, INSIGHT_TAG, LLMInsight

EMBEDDER = "hashing:512"
GARDEN = [
    f"Caroline: my garden tomatoes and basil grew tall with compost and watering {w}"
    for w in ["in May", "this spring", "all week", "near the fence", "by the shed"]
]
DOGS = [
    f"Melanie: our puppy and dog love long park walks and fetch {w}"
    for w in ["every morning", "after dinner", "on Sundays", "with friends", "in the rain"]
]


def _open(home: Path, llm: Any = False) -> Memory:
    return Memory(home, embedder=EMBEDDER, llm=llm)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    """Four garden notes and five dog notes, each group tied by `related` links."""
    home = tmp_path_factory.mktemp("reflect") / "home"
    with _open(home) as memory:
        ids = [
            memory.remember(text, event_at=f"2023-05-{day:02d}").note.id
            for day, text in enumerate([*GARDEN[:4], *DOGS], 1)
        ]
    return home, {"garden": ids[:4], "dogs": ids[4:]}


@pytest.fixture
def home(template: tuple[Path, dict[str, list[str]]], tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(template[0], copy)
    return copy


@pytest.fixture
def ids(template: tuple[Path, dict[str, list[str]]]) -> dict[str, list[str]]:
    return {k: list(v) for k, v in template[1].items()}


@pytest.fixture
def memory(home: Path) -> Iterator[Memory]:
    with _open(home) as mem:
        yield mem


def _sources(memory: Memory, insight_id: str) -> set[str]:
    return {
        x.dst for x in memory.links(insight_id) if x.src == insight_id and x.kind == "derived_from"
    }


def _insight_of(memory: Memory, notes: list[Note], members: list[str]) -> Note:
    [found] = [n for n in notes if _sources(memory, n.id) == set(members)]
    return found


def _active_insights(memory: Memory) -> list[Note]:
    return [
        n
        for n in memory.list_notes(limit=1000)
        if n.source == INSIGHT_SOURCE and n.status == "active"
    ]


def test_reflect_writes_one_insight_per_cluster(memory: Memory, ids: dict[str, list[str]]) -> None:
    members = {note_id: memory.get(note_id) for group in ids.values() for note_id in group}
    result = memory.reflect()
    assert result.updated == [] and result.unchanged == []
    assert len(result.created) == 2
    garden = _insight_of(memory, result.created, ids["garden"])
    dogs = _insight_of(memory, result.created, ids["dogs"])
    for insight, size, span in (
        (garden, 4, "2023-05-01 to 2023-05-04"),
        (dogs, 5, "2023-05-05 to 2023-05-09"),
    ):
        stored = memory.get(insight.id)
        assert stored == insight
        assert stored.source == INSIGHT_SOURCE and stored.status == "active"
        assert stored.tags[0] == INSIGHT_TAG
        assert stored.scope == "default"
        assert stored.context == f"insight from {size} notes"
        assert f"{size} notes" in stored.content and span in stored.content
        assert all(x.kind == "derived_from" for x in memory.links(insight.id))
    assert "Voices: Caroline." in garden.content and "Voices: Melanie." in dogs.content
    # The sources are untouched.
    for note_id, note in members.items():
        assert memory.get(note_id) == note


def test_insights_are_recallable(memory: Memory) -> None:
    result = memory.reflect()
    insight_ids = {n.id for n in result.created}
    for query in ("garden tomatoes basil compost", "puppy dog park walks fetch"):
        hits = memory.recall(query, k=3, filters=memory.filters(tags=[INSIGHT_TAG])).hits
        assert hits and hits[0].note.id in insight_ids
        assert query.split()[0] in hits[0].note.content
        assert hits[0].note.id in {h.note.id for h in memory.recall(query, k=10).hits}


def test_the_digest_quotes_central_sentences_of_its_own_cluster(memory: Memory) -> None:
    result = memory.reflect()
    for insight in result.created:
        sources = [memory.get(i).content for i in _sources(memory, insight.id)]
        quoted = insight.content.split("Most central: ", 1)[1].split(" | ")
        assert len(quoted) == reflect.CENTRAL_SENTENCES
        for quote in quoted:
            assert any(text.startswith(quote) for text in sources), quote


def test_the_digest_key_phrases_are_what_the_cluster_shares(memory: Memory) -> None:
    result = memory.reflect()
    for insight in result.created:
        sources = [memory.get(i).content.lower() for i in _sources(memory, insight.id)]
        for phrase in insight.keywords:  # the title's phrases
            carried = sum(phrase in text for text in sources)
            assert carried * 2 >= len(sources), (phrase, insight.keywords)


def test_reflect_again_changes_nothing(memory: Memory) -> None:
    first = memory.reflect()
    before = memory.stats()
    again = memory.reflect()
    assert again.created == [] and again.updated == []
    assert sorted(n.id for n in again.unchanged) == sorted(n.id for n in first.created)
    assert memory.stats() == before


def test_a_grown_cluster_gets_a_new_insight_that_supersedes_the_old(
    memory: Memory, ids: dict[str, list[str]]
) -> None:
    first = memory.reflect()
    old = _insight_of(memory, first.created, ids["garden"])
    dogs = _insight_of(memory, first.created, ids["dogs"])
    added = memory.remember(GARDEN[4], event_at="2023-07-01").note
    result = memory.reflect()
    assert result.created == []
    assert [n.id for n in result.unchanged] == [dogs.id]
    [new] = result.updated
    assert _sources(memory, new.id) == {*ids["garden"], added.id}
    assert new.context == "insight from 5 notes" and "2023-05-01 to 2023-07-01" in new.content
    assert memory.get(old.id).status == "superseded"
    assert memory.get(old.id).content == old.content
    assert (new.id, old.id, "supersedes") in {(x.src, x.dst, x.kind) for x in memory.links(old.id)}
    [change] = memory.history(old.id)
    assert (change.field, change.after) == ("status", "superseded") and new.id in change.reason
    assert {n.id for n in _active_insights(memory)} == {new.id, dogs.id}
    query = "garden tomatoes basil compost"
    hits = memory.recall(query, k=5, filters=memory.filters(tags=[INSIGHT_TAG])).hits
    assert old.id not in {h.note.id for h in hits} and hits[0].note.id == new.id
    everything = memory.filters(tags=[INSIGHT_TAG], include_superseded=True)
    with_old = memory.recall(query, k=5, filters=everything).hits
    assert old.id in {h.note.id for h in with_old}
    # Settled again.
    third = memory.reflect()
    assert third.created == third.updated == []
    assert {n.id for n in third.unchanged} == {new.id, dogs.id}


def test_reflect_on_a_topic(memory: Memory, ids: dict[str, list[str]]) -> None:
    result = memory.reflect("puppy")
    [insight] = result.created
    assert result.updated == [] and result.unchanged == []
    assert insight.context == "insight on the topic: puppy"
    assert insight.content.startswith("Insight on puppy (")  # the topic asked, named first
    assert insight.tags[0] == INSIGHT_TAG and insight.source == INSIGHT_SOURCE
    assert _sources(memory, insight.id) == set(ids["dogs"])
    again = memory.reflect("puppy")
    assert again.created == again.updated == [] and [n.id for n in again.unchanged] == [insight.id]
    assert memory.reflect("zeppelin").created == []
    # Community insights are another kind: a later plain reflect still writes them.
    assert len(memory.reflect().created) == 2


def test_reflect_in_one_scope(memory: Memory) -> None:
    for day, text in enumerate(DOGS[:4], 10):
        memory.remember(text.replace("Melanie", "Jon"), scope="other", event_at=f"2023-06-{day}")
    result = memory.reflect(scope="other")
    [insight] = result.created
    assert insight.scope == "other"
    assert {memory.get(i).scope for i in _sources(memory, insight.id)} == {"other"}
    everything = memory.reflect()
    assert [n.id for n in everything.unchanged] == [insight.id]
    assert {n.scope for n in everything.created} == {"default"} and len(everything.created) == 2


def test_forgetting_a_source_forgets_its_words_in_insights(
    memory: Memory, ids: dict[str, list[str]]
) -> None:
    result = memory.reflect()
    garden = _insight_of(memory, result.created, ids["garden"])
    gone = next(i for i in ids["garden"] if memory.get(i).content in garden.content)
    text = memory.get(gone).content
    memory.forget([gone])
    memory.reflect()
    everywhere = memory.list_notes(limit=1000)
    assert not any(text in note.content for note in everywhere)
    hits = memory.recall(text, k=10, filters=memory.filters(include_superseded=True)).hits
    assert not any(text in h.note.content for h in hits)


# -- LLM mode --------------------------------------------------------------------------------

ANSWERS = {
    "garden": {
        "title": "Caroline's vegetable plot",
        "insight": "Caroline keeps a thriving "
        "vegetable plot; compost and steady watering make it grow.",
    },
    "dogs": {
        "title": "Melanie's dogs",
        "insight": "Melanie's puppy and dog get daily exercise; park walks and fetch are routine.",
    },
}


def _answer(system: str, prompt: str, schema: type) -> dict[str, str]:
    assert schema is LLMInsight
    return ANSWERS["garden"] if "tomatoes" in prompt else ANSWERS["dogs"]


def test_llm_mode_writes_the_llms_insight(home: Path, ids: dict[str, list[str]]) -> None:
    llm = ScriptedLLM([_answer, _answer])
    with _open(home, llm=llm) as memory:
        result = memory.reflect()
        assert len(result.created) == 2
        assert len(llm.calls) == 2 and all(c.schema is LLMInsight for c in llm.calls)
        for key, members in ids.items():
            insight = _insight_of(memory, result.created, members)
            answer = ANSWERS[key]
            assert insight.content == f"Insight on {answer['title']}: {answer['insight']}"
            assert insight.tags[0] == INSIGHT_TAG and insight.source == INSIGHT_SOURCE
            [call] = [c for c in llm.calls if (key == "garden") == ("tomatoes" in c.prompt)]
            for note_id in members:  # the prompt lists the memories it consolidates
                assert memory.get(note_id).content in call.prompt
        hits = memory.recall("thriving vegetable plot", k=3).hits
        assert hits[0].note.content.startswith("Insight on Caroline's vegetable plot")
        assert len(llm.calls) == 2  # recall never asks the LLM


def test_a_failing_llm_falls_back_to_the_offline_digest_with_a_warning(
    home: Path, tmp_path: Path, warnings_seen: list[logging.LogRecord]
) -> None:
    offline_home = tmp_path / "offline"
    shutil.copytree(home, offline_home)
    with _open(offline_home) as offline:
        expected = sorted(n.content for n in offline.reflect().created)
    assert len(expected) == 2 and warnings_seen == []
    llm = ScriptedLLM([RuntimeError("HTTP 429 rate limited"), {"title": "no insight field"}])
    with _open(home, llm=llm) as memory:
        result = memory.reflect()
        assert sorted(n.content for n in result.created) == expected
        assert all(_sources(memory, n.id) for n in result.created)
    assert len(llm.calls) == 2
    assert len(warnings_seen) == 2
    assert all(r.levelno == logging.WARNING for r in warnings_seen)
