"""Fusion and the speaker preference, as pure functions and through recall."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from overlap import beside
from zettelmem.memory.core import Memory
from zettelmem.retrieval import spreading
from zettelmem.retrieval.fusion import (
    LENGTH_CAP,
    LENGTH_WEIGHT,
    QUESTION_PENALTY,
    SPEAKER_BOOST,
    fuse,
    named_words,
    prefer_informative,
    prefer_speakers,
    prior,
)
from zettelmem.retrieval.weights import Weights


def test_named_words_fold_case_and_possessives() -> None:
    assert named_words("What is Caroline's identity?") >= {"caroline", "identity"}
    assert "caroline" in named_words("what did CAROLINE’s sister say")


def test_prefer_speakers_lifts_only_the_named_speakers_turns() -> None:
    fused = fuse([(1, 3.0), (2, 2.0), (3, 1.0)], [])
    speakers = {1: "Bob", 2: "Ann Lee", 3: "Ann"}
    out = prefer_speakers(fused, speakers, "what did ann say about the trip")
    by_label = dict(out)
    assert by_label[3]["speaker"] == SPEAKER_BOOST
    # "Ann Lee" needs both words in the query; Bob was not named.
    assert "speaker" not in by_label[2] and "speaker" not in by_label[1]
    assert by_label[3]["final"] == pytest.approx(dict(fused)[3]["final"] + SPEAKER_BOOST)
    assert [item[0] for item in out] == sorted(by_label, key=lambda lab: -by_label[lab]["final"])


def test_prefer_speakers_leaves_a_query_naming_nobody_alone() -> None:
    fused = fuse([(1, 3.0), (2, 2.0)], [(2, 0.9), (1, 0.1)])
    assert prefer_speakers(fused, {1: "Ann", 2: "Bob"}, "the trip to the coast") == fused


def test_recall_prefers_what_the_named_person_said(tmp_path: Path) -> None:
    with Memory(home=tmp_path / "home", embedder="hashing") as memory:
        memory.remember("Bob: Ann loves weekends, Ann says weekends are the best", scope="chat")
        ann = memory.remember("Ann: every Saturday I go to pottery class", scope="chat").note
        memory.remember("Bob: my weekends are quiet", scope="chat")
        # A weaker keyword match, so Ann's note is not the bottom of both lists (fusion
        # leaves that out as no match at all).
        memory.remember("Cleo: we talked about work, the garden, our new neighbours, the "
                        "long drive home and, once, weekends", scope="chat")  # fmt: skip
        chat = memory.filters(scope="chat")
        question = "What does Ann do on weekends?"
        off, strong = Weights(speaker=0.0), Weights(speaker=1.5)
        before = [h.note.id for h in memory.recall(question, k=3, filters=chat, weights=off).hits]
        hits = memory.recall(question, k=3, filters=chat, weights=strong).hits
        assert before[0] != ann.id  # the test only means something if the boost moves it
        assert hits[0].note.id == ann.id and hits[0].scores["speaker"] == 1.5
        assert all("speaker" not in h.scores for h in hits[1:])
        plain = memory.recall("pottery weekends", k=3, filters=chat).hits
        assert all("speaker" not in h.scores for h in plain)


def test_prior_grows_with_the_words_and_drops_for_a_question() -> None:
    short, long = "Ann: wow!", "Ann: I finished the pottery class and made a blue bowl for Mum"
    assert prior(long) > prior(short) > 0
    assert prior(long) - prior(short) == pytest.approx(
        LENGTH_WEIGHT * (math.log1p(13) - math.log1p(2))
    )
    asked = "Ann: did you finish the pottery class and make a blue bowl for Mum?"
    assert prior(asked) == pytest.approx(LENGTH_WEIGHT * math.log1p(14) - QUESTION_PENALTY)
    # a shared photo's caption after the question does not hide it
    assert prior(asked + " [shares a photo: a blue bowl]") < LENGTH_WEIGHT * math.log1p(20)
    assert prior(long, length=0.0, question=0.0) == 0.0
    # past a paragraph, more words count no more
    paragraph = " ".join(["word"] * LENGTH_CAP)
    assert prior(paragraph) > prior(" ".join(["word"] * (LENGTH_CAP - 1)))
    assert prior(paragraph * 40) == prior(paragraph) == LENGTH_WEIGHT * math.log1p(LENGTH_CAP)


def test_prefer_informative_reorders_close_hits_and_skips_what_matched_nothing() -> None:
    fused = fuse([(1, 2.0), (2, 1.9)], [(1, 0.5), (2, 0.5), (3, 0.1)], bm25_ref=10.0)
    texts = {
        1: "Ann: yes!",
        2: "Ann: we drove to the coast and camped by the lighthouse",
        3: "x y z",
    }
    out = prefer_informative(fused, texts)
    assert [label for label, _ in fused][:2] == [1, 2]
    assert [label for label, _ in out][:2] == [2, 1]
    by_label = dict(out)
    assert by_label[2]["prior"] == pytest.approx(prior(texts[2]))
    assert by_label[2]["final"] == pytest.approx(dict(fused)[2]["final"] + prior(texts[2]))
    # the bottom of the vector list with no keyword match scores 0: it stays no match
    assert dict(fused)[3]["final"] == 0.0 and "prior" not in by_label[3]
    assert prefer_informative(fused, texts, length=0.0, question=0.0) == fused


def test_a_hit_whose_vector_points_away_from_the_question_gets_no_prior() -> None:
    """A long chat reply that shares one word with the question and whose embedding points
    away from it (cosine below 0) is not lifted for how much it says: its words are about
    something else (a 20,000-character answer about a kitchen ranked above the dog's name)."""
    fused = fuse([(1, 3.0), (2, 1.0)], [(3, 0.62), (1, -0.04), (2, -0.13)], bm25_ref=10.0)
    texts = {1: "User: The contractor is called Ricardo.",
             2: "ChatGPT: " + "kitchen budget plan " * 50,
             3: "User: A good name for my golden retriever puppy?"}  # fmt: skip
    query = "what is my dog called"
    by_label = dict(prefer_informative(fused, texts, query=query))
    assert "prior" not in by_label[1] and "prior" not in by_label[2]
    assert by_label[3]["prior"] == pytest.approx(prior(texts[3]))
    # A hit only the keyword search found (no cosine known) keeps its prior.
    alone = dict(prefer_informative(fuse([(4, 2.0)], [], bm25_ref=10.0), {4: "Ann: we camped"},
                                    query="camped"))  # fmt: skip
    assert alone[4]["prior"] == pytest.approx(prior("Ann: we camped"))
    # So does one holding every word of the query, whatever its vector (a code, an id).
    code = fuse([(5, 4.0)], [(6, 0.3), (5, -0.2)], bm25_ref=10.0)
    marked = {5: "client 7 stores the marker w7x45q", 6: "client 1 stores a marker"}
    assert "prior" in dict(prefer_informative(code, marked, query="w7x45q"))[5]


def test_recall_reports_the_prior_and_a_weighting_can_switch_it_off(tmp_path: Path) -> None:
    with Memory(home=tmp_path / "home", embedder="hashing") as memory:
        memory.remember("Ann: pottery!", scope="chat")
        memory.remember("Ann: on Saturdays I go to a pottery class near the old harbour, "
                        "and last week I made a bowl", scope="chat")  # fmt: skip
        chat = memory.filters(scope="chat")
        off = memory.recall("pottery", k=2, filters=chat, weights=Weights(length=0.0, question=0.0))
        assert all("prior" not in h.scores for h in off.hits)
        assert off.hits[0].note.content == "Ann: pottery!"  # BM25 prefers the short note
        hits = memory.recall("pottery", k=2, filters=chat).hits
        assert len(hits) == 2 and all(h.scores["prior"] > 0 for h in hits)
        for hit in hits:
            plain = next(h for h in off.hits if h.note.id == hit.note.id)
            assert hit.score == pytest.approx(plain.score + hit.scores["prior"], abs=1e-5)
        strong = memory.recall("pottery", k=2, filters=chat, weights=Weights(length=1.0)).hits
        assert strong[0].note.content != "Ann: pottery!"


def test_links_spread_the_match_not_the_prior(tmp_path: Path) -> None:
    with Memory(home=tmp_path / "home", embedder="hashing") as memory:
        first = memory.remember(
            "Ann: we went camping by the lake",
            scope="chat",
            source="chat:trip/1",
            event_at="2024-05-01T10:00:00",
        ).note
        second = memory.remember(
            "Bob: sounds lovely", scope="chat", source="chat:trip/2", event_at="2024-05-01T10:01:00"
        ).note
        links = memory.records.adjacent([first.id], ["follows"])
        assert [(link.src, link.dst) for link in links] == [(second.id, first.id)]
        labels = memory.records.labels_of([first.id, second.id])
        fused = [
            (labels[first.id], {"final": 1.0, "prior": 0.4}),
            (labels[second.id], {"final": 0.1}),
        ]
        out = {label: parts for label, parts, _ in spreading.spread(memory.records, fused, 2, set)}
        flow = spreading.KIND_FLOW["follows"] * links[0].weight
        assert out[labels[second.id]]["graph"] == pytest.approx(0.6 * flow, abs=1e-5)


def test_a_new_query_is_embedded_while_its_keyword_search_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Memory(home=tmp_path / "home", embedder="hashing") as memory:
        kayak = memory.remember("Ana bought a red kayak for the lake").note
        memory.remember("Ben fixed the garden shed")
        seen = beside(monkeypatch, (memory.indexes, "text_search"), (memory.embedder, "embed"))
        hits = memory.recall("kayak on the lake", k=2).hits
        assert hits[0].note.id == kayak.id
        assert seen == [(False, True)]
        # Asked again, the query's vector is remembered: nothing is embedded.
        assert memory.recall("kayak on the lake", k=2).hits[0].note.id == kayak.id
        assert len(seen) == 1


def test_the_vector_search_runs_while_the_keyword_search_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Memory(home=tmp_path / "home", embedder="hashing") as memory:
        kayak = memory.remember("Ana bought a red kayak for the lake", scope="ana").note
        memory.remember("Ben fixed the garden shed", scope="ana")
        memory.remember("A kayak trip on the lake with Ben", scope="ben")
        vectors = memory.indexes.vectors
        seen = beside(monkeypatch, (memory.indexes, "text_search"), (vectors, "search"))
        hits = memory.recall("kayak on the lake", k=2, filters=memory.filters(scope="ana")).hits
        assert hits[0].note.id == kayak.id
        assert all(h.note.scope == "ana" for h in hits)
        assert seen == [(False, True)]


def test_a_failing_vector_search_fails_the_recall_with_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Memory(home=tmp_path / "home", embedder="hashing") as memory:
        memory.remember("Ana bought a red kayak for the lake")

        def broken(*args: object, **kwargs: object) -> object:
            raise RuntimeError("the vector index file is damaged")

        monkeypatch.setattr(memory.indexes.vectors, "search", broken)
        with pytest.raises(RuntimeError, match="damaged"):
            memory.recall("kayak", k=2)


def test_a_failing_embedder_fails_the_recall_with_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zettelmem.errors import ConfigError

    with Memory(home=tmp_path / "home", embedder="hashing") as memory:
        memory.remember("Ana bought a red kayak for the lake")

        def broken(texts: list[str], *args: object, **kwargs: object) -> object:
            raise ConfigError("embedding model file x is missing; reinstall zettelmem")

        monkeypatch.setattr(memory.embedder, "embed", broken)
        with pytest.raises(ConfigError, match="is missing"):
            memory.recall("kayak", k=2)


def test_a_note_pointing_away_from_the_query_without_its_words_is_no_hit(tmp_path: Path) -> None:
    """Nothing shared and a vector that points away (cosine 0 or below): it matched nothing,
    so it is not handed back to fill the list."""
    import random

    rng = random.Random(5)
    letters = "bcdfghjklmnpqrstvwxz"

    def word() -> str:
        return "".join(rng.choice(letters) for _ in range(7))

    with Memory(home=tmp_path / "home", embedder="hashing") as memory:
        for _ in range(40):
            memory.remember(" ".join(word() for _ in range(6)))
        asked = 0
        for _ in range(10):
            query = " ".join(word() for _ in range(3))
            hits = memory.recall(query, k=40).hits
            asked += len(hits)
            assert all(h.scores.get("vector", 0) > 0 for h in hits if not h.scores.get("bm25"))
        assert asked  # the near ones by meaning are still hits
