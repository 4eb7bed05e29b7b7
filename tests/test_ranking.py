"""Fusion and the speaker preference, as pure functions and through recall."""

from __future__ import annotations

from pathlib import Path

import pytest

from zettelmem.memory.core import Memory
from zettelmem.retrieval.fusion import SPEAKER_BOOST, fuse, named_words, prefer_speakers
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
