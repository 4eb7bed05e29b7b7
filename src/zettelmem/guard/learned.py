"""A learned reading of a text's wording: how much it reads like an injection attack.

The clause grammar in ``directives`` finds a directive by closed word classes; a writer
who phrases an attack in other words slips past it. This is the complementary signal: a
logistic regression over a text's words and word pairs (present or not, scaled by
1/sqrt(count)), trained on attacks by fifteen writers and on honest notes (lookalike
preferences and reminders, and every turn of the LoCoMo dev conversations), so it has
seen many ways of saying "answer X", "hide this note", "delete the others". Its weights
ship in ``data/guard_ngrams.tsv``; ``benchmarks/train_guard_model.py`` rebuilds them from
the corpora in ``benchmarks/data`` and reports it on attacks it was not trained on.

A text is read whole and sentence by sentence, and counts at its most attack-like: an
instruction behind a question or inside a long harmless paragraph is not diluted by the
words around it (the sentences of the honest training notes and turns are honest
examples too, so a short friendly sentence alone does not read as an attack).

Reading a text costs a tokenisation and a few dictionary look-ups; the weights load once,
on the first text read.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path

WEIGHTS = Path(__file__).parents[1] / "data" / "guard_ngrams.tsv"
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?|[^\sA-Za-z0-9]")
# After one of these (or first), a capitalised word starts a sentence or a header.
_OPENERS = frozenset(".!?:;\"'“”‘’([{-—–*#>…")
NAME = "<name>"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
BIAS = "<bias>"


def sentences(text: str) -> list[str]:
    """The text's sentences when it has more than one, else []."""
    parts = [p for p in _SENTENCE_END.split(text) if p.strip()]
    return parts if len(parts) > 1 else []


def tokens(text: str) -> list[str]:
    """Lower-cased words and each other character alone; a capitalised word inside a
    sentence (a name: "Dario", "Maren's") is ``NAME``, so the model weighs that a name is
    there, never which one (the names of its training texts say nothing of attacks)."""
    out = []
    previous = ""
    for token in _TOKEN.findall(text):
        named = (
            len(token) > 1
            and token[0].isupper()
            and token[1:] == token[1:].lower()
            and token[1:] != token[1:].upper()
            and previous != ""
            and previous not in _OPENERS
        )
        out.append(NAME if named else token.lower())
        previous = token
    return out


def features(text: str) -> set[str]:
    """The text's tokens (see ``tokens``) and adjacent token pairs: what the model weighs
    (each present feature once)."""
    tokens_ = tokens(text)
    found = {"u:" + t for t in tokens_}
    found.update("b:" + a + " " + b for a, b in zip(tokens_, tokens_[1:], strict=False))
    return found


def logit(weights: dict[str, float], text: str) -> float:
    """The model's log-odds for ``text`` under ``weights`` (the bias under ``BIAS``)."""
    known = [weights[f] for f in features(text) if f in weights]
    scale = 1.0 / math.sqrt(len(known)) if known else 0.0
    return weights.get(BIAS, 0.0) + scale * math.fsum(known)


@cache
def _weights() -> dict[str, float]:
    # "value<TAB>feature" lines under one comment line; read in bulk (about 25 ms)
    text = WEIGHTS.read_text(encoding="utf-8")
    cells = text[text.index("\n") + 1 :].rstrip("\n").replace("\n", "\t").split("\t")
    return dict(zip(cells[1::2], map(float, cells[0::2]), strict=True))


def score(text: str) -> float:
    """The probability, 0-1, that ``text`` (whole, or one of its sentences) reads like an
    injection attack."""
    weights = _weights()
    z = max(logit(weights, part) for part in (text, *sentences(text)))
    return 1.0 / (1.0 + math.exp(-z)) if z > -50 else 0.0
