"""Fusion scaling on LoCoMo dev: min-max per list vs scale-aware (BM25 / the query's own
score, vectors by cosine), with the BM25 weight chosen on four conversations and scored on
the fifth (each in turn). Prints R@k per variant and the cross-validated table.

    python benchmarks/bench_fusion.py ../shared/locomo/locomo_dev.json [--home DIR]

The import (linking, evolution, guard) runs once into --home (kept, so a second run
skips it); only recall changes between variants.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zettelmem.bench.locomo import questions
from zettelmem.memory import core
from zettelmem.memory.core import Memory
from zettelmem.retrieval import fusion
from zettelmem.transfer.importers import locomo

WEIGHTS = (0.4, 0.5, 0.6, 0.7, 0.8)
CUTS = (1, 5, 10, 20)


def _variant(scaled: bool, weight: float) -> Callable[..., Any]:
    def fuse(bm25: Any, vector: Any, method: str = "weighted", **kw: Any) -> Any:
        ref = kw.get("bm25_ref") if scaled else None
        return fusion.fuse(bm25, vector, method, bm25_weight=weight, bm25_ref=ref)

    return fuse


def _score(memory: Memory, samples: list[dict[str, Any]]) -> dict[str, dict[int, list[float]]]:
    """Per conversation, R@cut of each question (graph on, as the default)."""
    out: dict[str, dict[int, list[float]]] = {}
    for sample in samples:
        scope = str(sample["sample_id"])
        per_cut: dict[int, list[float]] = {c: [] for c in CUTS}
        for qa in questions(sample):
            gold = set(qa["evidence"])
            hits = memory.recall(qa["question"], k=max(CUTS), filters=memory.filters(scope=scope))
            found = [h.note.source.rsplit("/", 1)[-1] for h in hits]
            for cut in CUTS:
                per_cut[cut].append(len(gold & set(found[:cut])) / len(gold))
        out[scope] = per_cut
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--home", type=Path, default=Path("/tmp/mem-bench-fusion"))
    args = parser.parse_args()
    samples = locomo.load(args.file)
    with Memory(args.home, llm=False) as memory:
        if memory.stats()["notes"] == 0:
            memory.remember_many(locomo.notes(samples))
        results: dict[tuple[bool, float], dict[str, dict[int, list[float]]]] = {}
        original = core.fuse
        try:
            for scaled in (False, True):
                for weight in WEIGHTS:
                    core.fuse = _variant(scaled, weight)  # type: ignore[assignment]
                    results[(scaled, weight)] = _score(memory, samples)
        finally:
            core.fuse = original  # type: ignore[assignment]
    convs = [str(s["sample_id"]) for s in samples]
    print("| fusion | BM25 weight | " + " | ".join(f"R@{c}" for c in CUTS) + " |")
    print("|---|---|" + "---|" * len(CUTS))
    for (scaled, weight), per in results.items():
        means = [statistics.fmean(x for c in convs for x in per[c][cut]) for cut in CUTS]
        name = "scale-aware" if scaled else "min-max"
        print(f"| {name} | {weight} | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    print("\ncross-validated R@10 (weight chosen on four conversations, scored on the fifth):")
    for scaled in (False, True):
        folds = []
        for held in convs:
            train = [c for c in convs if c != held]
            best = max(WEIGHTS, key=lambda w: statistics.fmean(
                x for c in train for x in results[(scaled, w)][c][10]))  # fmt: skip
            folds.append((held, best, statistics.fmean(results[(scaled, best)][held][10])))
        name = "scale-aware" if scaled else "min-max"
        scores = [f[2] for f in folds]
        detail = ", ".join(f"{h}: w={w} R@10={r:.3f}" for h, w, r in folds)
        print(f"{name}: mean {statistics.fmean(scores):.3f}, worst {min(scores):.3f} ({detail})")


if __name__ == "__main__":
    main()
