"""Fusing ranked lists from the retrievers into one list with its score parts."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence

from zettelmem.text import QUERY_WORD, STOPWORDS, named_words

RRF_K = 60
# Weight of BM25 in weighted fusion (vectors get the rest); see README "Benchmarks".
BM25_WEIGHT = 0.6

Ranked = Sequence[tuple[int, float]]


# Scale-aware fusion: each list is min-max scaled, but over a span never smaller than a
# reference, so scores that are close against it stay close (two BM25 hits 2.07 and 1.92
# on a five-note store no longer become 1 and 0). BM25's reference is the query's own
# score (bm25_reference), vectors' a cosine. On LoCoMo dev (benchmarks/bench_fusion.py;
# R@10, plain min-max 0.747): BM25 share 0.25 / 0.5 / 1.0 at a cosine span of 0.2 gave
# 0.742 / 0.737 / 0.726, cosine span 0.1 / 0.2 / 0.3 at share 0.5 gave 0.740 / 0.737 /
# 0.735, and 0.25 with 0.1 gives 0.747 at every cut (R@1/5/20 as min-max). Chosen on four
# conversations and scored on the fifth, 0.25 wins every fold. The references are a
# floor for tiny stores, not a tuned gain: on a large store the lists' own spans are wider.
BM25_SPAN_SHARE = 0.25
VECTOR_SPAN = 0.1


def bm25_reference(query: str, idf: Callable[[str], float], ignore: Collection[str]) -> float:
    """The BM25 score of the query against itself: what a note of average length that
    holds each query word once would score (BM25's term score is exactly the word's idf
    then). It measures the query's weight on any store, of five notes or fifty thousand.
    Words as the text index reads the query."""
    words = [w.lower() for w in QUERY_WORD.findall(query)]
    words = [w for w in words if w not in ignore] or words
    return sum(idf(w) for w in words)


def fuse(
    bm25: Ranked,
    vector: Ranked,
    method: str = "weighted",
    bm25_weight: float = BM25_WEIGHT,
    bm25_ref: float | None = None,
) -> list[tuple[int, dict[str, float]]]:
    """One list of (label, parts) sorted by parts['final'], best first.

    With ``bm25_ref`` (see `bm25_reference`), weighted fusion is scale-aware: each list
    is stretched over a span of at least BM25_SPAN_SHARE x the reference (BM25) or
    VECTOR_SPAN (cosine), so close scores stay close and the final score is 0 to 1 (recall
    leaves out what still scores 0 after the speaker and graph parts). Without it,
    each list is min-max scaled (candidate lists where only the order matters).
    """
    parts: dict[int, dict[str, float]] = {}
    for label, score in bm25:
        parts.setdefault(label, {})["bm25"] = score
    for label, score in vector:
        parts.setdefault(label, {})["vector"] = score
    if method == "rrf":
        finals = _rrf(bm25, vector)
    elif method == "weighted" and bm25_ref is not None:
        b = _stretched(bm25, BM25_SPAN_SHARE * bm25_ref, floor=0.0)
        v = _stretched(vector, VECTOR_SPAN)
        finals = _mix(b, v, bm25_weight)
    elif method == "weighted":
        finals = _mix(_normalised(bm25), _normalised(vector), bm25_weight)
    else:
        raise ValueError(f"unknown fusion {method!r}; use weighted or rrf")
    for label, final in finals.items():
        parts[label]["final"] = final
    return sorted(parts.items(), key=lambda item: (-item[1]["final"], item[0]))


def _stretched(ranked: Ranked, min_span: float, floor: float | None = None) -> dict[int, float]:
    """Min-max over a span of at least ``min_span`` (its low end not below ``floor``): the
    best item gets 1; items closer to it than the span get close to 1."""
    if not ranked:
        return {}
    scores = [score for _, score in ranked]
    high = max(scores)
    low = min(min(scores), high - min_span)
    if floor is not None:
        low = max(low, floor)
    span = high - low
    if span <= 1e-9:
        return {label: 1.0 for label, _ in ranked}
    return {label: max(score - low, 0.0) / span for label, score in ranked}


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


def _mix(b: dict[int, float], v: dict[int, float], bm25_weight: float) -> dict[int, float]:
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
    return lift(fused, "speaker", dict.fromkeys(named, boost))


def lift(
    fused: Sequence[tuple[int, dict[str, float]]], part: str, amounts: dict[int, float]
) -> list[tuple[int, dict[str, float]]]:
    """Add each listed hit's amount to its `final` score as the score part ``part``
    (hits not listed keep their parts); re-sorted, best first."""
    out = [
        (label, {**parts, part: amounts[label], "final": parts["final"] + amounts[label]})
        if label in amounts
        else (label, parts)
        for label, parts in fused
    ]
    return sorted(out, key=lambda item: (-item[1]["final"], item[0]))


# A prior on what a note can tell: a longer note holds more facts, and a note that asks
# a question holds none of its answer. Both retrievers lean the other way (BM25
# normalises by length, and a short turn such as "That sounds great!" sits close to
# many questions in embedding space), so short turns crowd the top 10. Added as a
# `prior` part: LENGTH_WEIGHT x ln(1 + words), minus QUESTION_PENALTY for a question.
# Cross-validated on LoCoMo dev (README, "How recall ranks"): any length weight from
# 0.15 to 0.3 adds 2 to 3 points of held-out R@10, and the form (all words, words after
# the speaker, without a photo caption) moves it by less than 0.01. Words beyond
# LENGTH_CAP count no more: a 3,000-word chat reply is not a hundred times as likely to
# hold the answer as a one-line fact. The cap sits where LoCoMo does not feel it (a cap
# of 64, 100 or none: held-out R@10 0.796-0.797; 32 or 48 words move it).
LENGTH_WEIGHT = 0.2
LENGTH_CAP = 64
QUESTION_PENALTY = 0.1


def prior(text: str, length: float = LENGTH_WEIGHT, question: float = QUESTION_PENALTY) -> float:
    """The informativeness prior of a note's text (see LENGTH_WEIGHT): at most
    ``length`` x ln(1 + LENGTH_CAP), about 0.83 at the defaults."""
    # words as whitespace splits them, at most LENGTH_CAP (the split stops there): a
    # tenth of the cost of a word pattern, paid for every candidate of every recall
    words = min(len(text.split(maxsplit=LENGTH_CAP)), LENGTH_CAP)
    return length * math.log1p(words) - (question if _asks(text) else 0.0)


def _asks(text: str) -> bool:
    """Whether a note ends in a question mark, before a trailing bracket such as a shared
    photo's caption ("... did you? [shares a photo: ...]")."""
    body = text.rstrip()
    if body.endswith("]") and "[" in body:
        body = body[: body.rfind("[")].rstrip()
    return body.endswith("?")


def prefer_informative(
    fused: Sequence[tuple[int, dict[str, float]]],
    texts: dict[int, str],
    length: float = LENGTH_WEIGHT,
    question: float = QUESTION_PENALTY,
    query: str | None = None,
) -> list[tuple[int, dict[str, float]]]:
    """Add the `prior` part to every hit that matched something; re-sorted.

    With the ``query``, a hit whose vector points away from it (cosine 0 or below) and
    that lacks some of its words gets none: however long, it is about something else
    (one shared word such as "called" is not the question). A hit holding every word of
    the query keeps its prior whatever its vector (a code, a name, an id)."""
    if length <= 0 and question <= 0:
        return list(fused)
    wanted = _query_words(query) if query is not None else frozenset()
    matched = {
        label: prior(texts[label], length, question)
        for label, parts in fused
        if label in texts
        and (parts["final"] > 0.0 or parts.get("bm25", 0.0) > 0.0)
        and (parts.get("vector", 1.0) > 0.0 or wanted <= _words(texts[label]))
    }
    return lift(fused, "prior", matched)


def _query_words(query: str) -> frozenset[str]:
    return frozenset(w for w in _words(query) if w not in STOPWORDS)


def _words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in QUERY_WORD.findall(text))
