"""A turn in its context: scores from the BM25 windows of a conversation thread.

A dialog turn alone ("That sounds amazing!") says little; the turns around it
say what it is about. The text index holds, for every note of a thread, a
window: its own text and the turns before it (store/text_index.py). At query
time a turn takes two things from the windows that cover it:

- context: the best window that ends on it or up to ``CENTRE`` turns after it
  (so the window is centred on the turn or leans forward from it), added to its
  own BM25 score;
- the session stage: the best window covering it at all, scaled by the best
  window anywhere, added to the fused score (the part of the conversation the
  question is about, ranked before the turns within it).

Windows are fixed once written (earlier turns never change), so the index never
re-adds a document and a rebuilt index answers exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zettelmem.retrieval.fusion import lift
from zettelmem.store.text_index import Window

# Set on LoCoMo dev and checked by 5-fold cross-validation (README "Benchmarks":
# no fold switched either off; the folds' own choices beat these on held-out data
# in only 3 of 5). Flat around the value: context 0.3 / 0.6 / 0.7 gave R@10
# 0.783 / 0.791 / 0.794, stage 0.15 / 0.2 / 0.3 gave 0.788 / 0.788 / 0.792;
# both off, the held-out fold mean falls from 0.779 to 0.748 (5 of 5 folds).
CONTEXT_WEIGHT = 0.6
STAGE_WEIGHT = 0.2
# A window ending up to this many turns after a turn is its context: with windows
# of five, the one ending two turns later is centred on it. Centred (harness, dev)
# 0.788; the max over windows ending 0-2 turns later, as here, 0.789.
CENTRE = 2


@dataclass(frozen=True)
class Windowed:
    """BM25 with each turn's context, best first, and each turn's stage score (0-1)."""

    bm25: list[tuple[int, float]]
    stage: dict[int, float]


def combine(
    own: Sequence[tuple[int, float]],
    windows: Sequence[Window],
    context_weight: float = CONTEXT_WEIGHT,
) -> Windowed:
    """Add each turn's best centred window to its own BM25; note its best covering window."""
    context: dict[int, float] = {}
    stage: dict[int, float] = {}
    for window in windows:
        for offset, label in enumerate((window.label, *window.before)):
            if window.score > stage.get(label, 0.0):
                stage[label] = window.score
            if offset <= CENTRE and window.score > context.get(label, 0.0):
                context[label] = window.score
    scores = dict(own)
    for label, score in context.items():
        scores[label] = scores.get(label, 0.0) + context_weight * score
    best = max((w.score for w in windows), default=0.0)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    scaled = {label: score / best for label, score in stage.items()} if best > 0 else {}
    return Windowed(ranked, scaled)


def add_stage(
    fused: Sequence[tuple[int, dict[str, float]]],
    stage: dict[int, float],
    weight: float = STAGE_WEIGHT,
) -> list[tuple[int, dict[str, float]]]:
    """Lift fused hits by the window they sit in, with a `window` part; re-sorted."""
    if not stage or weight <= 0:
        return list(fused)
    amounts = {label: weight * stage.get(label, 0.0) for label, _ in fused}
    return lift(fused, "window", {label: a for label, a in amounts.items() if a > 0})
