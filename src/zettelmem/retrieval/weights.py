"""The free parameters of recall's ranking, in one value a benchmark can vary.

Each default carries its evidence in the module that uses it; `mem bench locomo
--folds` chooses them on some conversations and scores the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from zettelmem.retrieval.fusion import BM25_WEIGHT, LENGTH_WEIGHT, QUESTION_PENALTY, SPEAKER_BOOST
from zettelmem.retrieval.windows import CONTEXT_WEIGHT, STAGE_WEIGHT


@dataclass(frozen=True)
class Weights:
    """BM25's share of fusion, the window context and stage, the named-speaker lift, the
    informativeness prior (length and question)."""

    bm25: float = BM25_WEIGHT
    context: float = CONTEXT_WEIGHT
    stage: float = STAGE_WEIGHT
    speaker: float = SPEAKER_BOOST
    length: float = LENGTH_WEIGHT
    question: float = QUESTION_PENALTY

    def label(self) -> str:
        return (f"bm25={self.bm25:g} context={self.context:g} stage={self.stage:g} "
                f"speaker={self.speaker:g} length={self.length:g} "
                f"question={self.question:g}")  # fmt: skip


DEFAULT = Weights()
