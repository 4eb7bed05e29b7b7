"""A turn in its context: BM25 windows of a thread, and what recall takes from them."""

from __future__ import annotations

from pathlib import Path

from zettelmem.memory.core import Memory
from zettelmem.models import NewNote
from zettelmem.retrieval.windows import CENTRE, add_stage, combine
from zettelmem.store.text_index import Window

TURNS = [
    "Maya: I signed up for a pottery class on Saturdays.",
    "Tom: That sounds amazing! How did the first one go?",
    "Maya: I made a lopsided bowl, but I loved it.",
    "Tom: Ha, everyone starts there.",
    "Maya: Anyway, how is work?",
    "Tom: Busy, the quarterly report is due.",
    "Maya: Good luck with it.",
]


def _chat(mem: Memory, scope: str = "chat") -> None:
    mem.remember_many(
        NewNote(content=text, scope=scope, source=f"chat.txt#{i}", event_at="2024-06-01T10:00:00")
        for i, text in enumerate(TURNS)
    )
    mem.remember("Lena likes pottery museums", scope=scope)


def _answers(mem: Memory, query: str) -> list[tuple[str, float]]:
    hits = mem.recall(query, k=8, filters=mem.filters(scope="chat")).hits
    return [(h.note.content, h.score) for h in hits]


def test_a_reply_is_found_through_its_window(tmp_path: Path) -> None:
    with Memory(home=tmp_path / "h", embedder="hashing", llm=False) as mem:
        _chat(mem)
        hits = {h.note.content: h for h in mem.recall("pottery bowl", k=8).hits}
        reply = hits[TURNS[1]]  # no word of the query in it
        assert reply.scores["bm25"] > 0 and reply.scores["window"] > 0
        # The lone note has no window: its score is its own.
        assert "window" not in hits["Lena likes pottery museums"].scores
        # A turn's own words still count most.
        assert mem.recall("pottery bowl", k=1).hits[0].note.content in (TURNS[0], TURNS[2])


def test_reindex_and_forget_rebuild_the_same_windows(tmp_path: Path) -> None:
    with Memory(home=tmp_path / "h", embedder="hashing", llm=False) as mem:
        _chat(mem)
        before = _answers(mem, "pottery class report")
        mem.reindex()
        assert _answers(mem, "pottery class report") == before
        gone = [n for n in mem.list_notes(limit=20) if n.content == TURNS[3]]
        mem.forget([gone[0].id])  # the index is refilled from the record
        after_forget = _answers(mem, "pottery class report")
        mem.reindex()
        assert _answers(mem, "pottery class report") == after_forget


def test_combine_centres_context_and_stages_sessions() -> None:
    # Window ending on turn 5 covers 5, 4, 3, 2, 1 (nearest first after itself).
    windows = [Window(5, 4.0, (4, 3, 2, 1)), Window(9, 2.0, (8,))]
    out = combine([(3, 1.0), (20, 0.5)], windows, context_weight=0.5)
    scores = dict(out.bm25)
    # Context reaches the window's last CENTRE + 1 turns only.
    assert CENTRE == 2 and set(scores) == {5, 4, 3, 9, 8, 20}
    assert scores[3] == 1.0 + 0.5 * 4.0 and scores[20] == 0.5
    assert out.stage == {5: 1.0, 4: 1.0, 3: 1.0, 2: 1.0, 1: 1.0, 9: 0.5, 8: 0.5}
    fused = [(20, {"final": 0.9}), (8, {"final": 0.8})]
    lifted = add_stage(fused, out.stage, weight=0.2)
    assert lifted[0][0] == 8 and lifted[0][1]["window"] == 0.1
