"""Scores that mean what they say: fusion that does not turn a tie into a landslide on a
small store, every score part always present, the documented range true."""

from __future__ import annotations

from pathlib import Path

import pytest

from zettelmem.memory.core import Memory
from zettelmem.retrieval.fusion import bm25_reference, fuse
from zettelmem.schemas import SCORE_PARTS

FIVE = [
    "Project Falcon uses PostgreSQL 16 for its billing database and Redis for caching.",
    "I switched my editor from VS Code to Helix because of its modal editing.",
    "My sister Lena lives in Porto and works as an architect.",
    "The dentist appointment is on March 14 at 9am.",
    "I drink two cups of coffee every morning before work.",
]


def test_two_close_bm25_scores_stay_close_after_fusion() -> None:
    # The issue's numbers: BM25 2.07 vs 1.92 must not become the whole 0.6 of BM25's weight.
    falcon, helix = 1, 2
    even = dict(fuse([(falcon, 2.07), (helix, 1.92)], [(falcon, 0.3), (helix, 0.3)], bm25_ref=4.4))
    assert abs(even[falcon]["final"] - even[helix]["final"]) < 0.15
    vector = [(helix, 0.40), (falcon, 0.12), (3, 0.05), (4, 0.02), (5, 0.01)]
    fused = dict(fuse([(falcon, 2.07), (helix, 1.92)], vector, bm25_ref=4.4))
    assert fused[helix]["final"] > fused[falcon]["final"]  # meaning decides a keyword tie


def test_two_close_cosines_stay_close_after_fusion() -> None:
    fused = dict(fuse([], [(1, 0.41), (2, 0.40)], bm25_ref=3.0))
    assert abs(fused[1]["final"] - fused[2]["final"]) < 0.1


def test_a_lone_keyword_match_is_still_the_first_choice() -> None:
    fused = fuse([(7, 1.5)], [(8, 0.3), (7, 0.29)], bm25_ref=6.0)
    assert fused[0][0] == 7


def test_fused_scores_stay_within_zero_and_one() -> None:
    bm25 = [(1, 9.0), (2, 3.0)]  # above the reference: a short note repeating the words
    vector = [(1, 0.9), (2, -0.2), (3, 0.1)]
    for _, parts in fuse(bm25, vector, bm25_ref=4.0):
        assert 0.0 <= parts["final"] <= 1.0


def test_the_bottom_of_the_vector_list_fuses_to_zero() -> None:
    # With no keyword match it scores 0, and recall leaves it out (see the five notes).
    fused = dict(fuse([(1, 2.0)], [(1, 0.5), (2, 0.0), (3, -0.1)], bm25_ref=2.0))
    assert fused[3]["final"] == 0.0 and fused[2]["final"] > 0.0


def test_bm25_reference_is_the_querys_own_score() -> None:
    idf = {"editor": 2.5, "helix": 3.0}
    ref = bm25_reference("what editor for Helix?", lambda w: idf.get(w, 0.0), {"what", "for"})
    assert ref == pytest.approx(5.5)


@pytest.fixture
def five(tmp_path: Path):
    with Memory(tmp_path / "home", embedder="minilm", llm=False) as memory:
        ids = [memory.remember(text).note.id for text in FIVE]
        yield memory, ids


def test_on_five_notes_the_editor_note_answers_the_editor_question(five) -> None:
    memory, ids = five
    hits = memory.recall("what editor do I use?", k=5).hits
    assert hits[0].note.id == ids[1]
    assert all(h.score > 0 for h in hits)


def test_every_score_part_is_always_there(five) -> None:
    from zettelmem.render import hit_out

    memory, _ = five
    for query in ("what editor do I use?", "Lena Porto", "zzz unknown words"):
        for hit in memory.recall(query, k=5, graph=False).hits:
            out = hit_out(hit)
            assert set(out.scores) == set(SCORE_PARTS)
            assert out.scores["final"] == pytest.approx(out.score)
            assert 0.0 <= out.score <= 1.7


def test_the_recall_tool_and_the_readme_state_the_true_range() -> None:
    from zettelmem.schemas import HitOut

    root = Path(__file__).resolve().parents[1]
    for path in (root / "README.md", root / "src" / "zettelmem" / "server" / "mcp.py"):
        assert "score (0-1)" not in path.read_text(encoding="utf-8"), path
    assert "1.7" in str(HitOut.model_json_schema())
