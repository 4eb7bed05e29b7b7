"""Fusing ranked lists from the retrievers into one list with its score parts."""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60
# Weight of BM25 in weighted fusion (vectors get the rest); see README "Benchmarks".
BM25_WEIGHT = 0.6

Ranked = Sequence[tuple[int, float]]


def fuse(
    bm25: Ranked, vector: Ranked, method: str = "weighted", bm25_weight: float = BM25_WEIGHT
) -> list[tuple[int, dict[str, float]]]:
    """One list of (label, parts) sorted by parts['final'], best first."""
    parts: dict[int, dict[str, float]] = {}
    for label, score in bm25:
        parts.setdefault(label, {})["bm25"] = score
    for label, score in vector:
        parts.setdefault(label, {})["vector"] = score
    if method == "rrf":
        finals = _rrf(bm25, vector)
    elif method == "weighted":
        finals = _weighted(bm25, vector, bm25_weight)
    else:
        raise ValueError(f"unknown fusion {method!r}; use weighted or rrf")
    for label, final in finals.items():
        parts[label]["final"] = final
    return sorted(parts.items(), key=lambda item: (-item[1]["final"], item[0]))


def _rrf(bm25: Ranked, vector: Ranked) -> dict[int, float]:
    out: dict[int, float] = {}
    for ranked in (bm25, vector):
        for rank, (label, _) in enumerate(ranked):
            out[label] = out.get(label, 0.0) + 1.0 / (RRF_K + rank + 1)
    return out


def _normalised(ranked: Ranked) -> dict[int, float]:
    """Min-max scaling inside one list, so BM25 and cosine share a 0..1 range."""
    if not ranked:
        return {}
    scores = [score for _, score in ranked]
    low, high = min(scores), max(scores)
    span = high - low
    if span <= 1e-9:
        # A list that does not tell its items apart carries no preference; a lone
        # item is the retriever's clear first choice.
        return {label: (1.0 if len(ranked) == 1 else 0.0) for label, _ in ranked}
    return {label: (score - low) / span for label, score in ranked}


def _weighted(bm25: Ranked, vector: Ranked, bm25_weight: float) -> dict[int, float]:
    b, v = _normalised(bm25), _normalised(vector)
    return {
        label: bm25_weight * b.get(label, 0.0) + (1.0 - bm25_weight) * v.get(label, 0.0)
        for label in set(b) | set(v)
    }
