"""Fusing ranked lists from the retrievers into one list with its score parts."""

from __future__ import annotations

from collections.abc import Sequence

from zettelmem.text import named_words

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


# Added to a hit spoken by a person the query names ("What does Melanie do?" prefers
# Melanie's own turns). LoCoMo dev, R@10 0.740 -> 0.752, multi-hop 0.433 -> 0.457 at
# 0.15; 0.05-0.25 all help, so the value is not knife-edge.
SPEAKER_BOOST = 0.15


def prefer_speakers(
    fused: Sequence[tuple[int, dict[str, float]]],
    speakers: dict[int, str],
    query: str,
    boost: float | None = None,
) -> list[tuple[int, dict[str, float]]]:
    """Lift hits whose speaker the query names, with a `speaker` part; re-sorted."""
    boost = SPEAKER_BOOST if boost is None else boost
    words = named_words(query)
    named = {
        label
        for label, who in speakers.items()
        if who and all(part in words for part in named_words(who))
    }
    if not named or boost <= 0:
        return list(fused)
    out = [
        (label, {**parts, "speaker": boost, "final": parts["final"] + boost})
        if label in named
        else (label, parts)
        for label, parts in fused
    ]
    return sorted(out, key=lambda item: (-item[1]["final"], item[0]))
