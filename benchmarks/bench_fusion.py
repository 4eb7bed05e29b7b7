"""Fusion scaling on LoCoMo dev: plain min-max per list vs scale-aware min-max (a span of
at least BM25_SPAN_SHARE x the query's own BM25 score, and VECTOR_SPAN in cosine), over a
grid of the two, chosen on four conversations and scored on the fifth (each in turn).
Prints R@k per variant and the cross-validated table.

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

from zettelmem.bench.locomo import ingest, questions
from zettelmem.memory import core
from zettelmem.memory.core import Memory
from zettelmem.retrieval import fusion
from zettelmem.transfer.importers import locomo

SHARES = (0.25, 0.5, 1.0)
SPANS = (0.1, 0.2, 0.3)
CUTS = (1, 5, 10, 20)
Variant = tuple[float, float] | None  # (BM25 span share, cosine span); None: plain min-max


def _variant(variant: Variant) -> Callable[..., Any]:
    def fuse(bm25: Any, vector: Any, method: str = "weighted", **kw: Any) -> Any:
        if variant is None:
            return fusion.fuse(bm25, vector, method)
        fusion.BM25_SPAN_SHARE, fusion.VECTOR_SPAN = variant
        return fusion.fuse(bm25, vector, method, bm25_ref=kw.get("bm25_ref"))

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
            ingest(memory, args.file)  # as `mem import` writes it
        results: dict[Variant, dict[str, dict[int, list[float]]]] = {}
        saved = core.fuse, fusion.BM25_SPAN_SHARE, fusion.VECTOR_SPAN
        try:
            grid: list[Variant] = [None, *((a, b) for a in SHARES for b in SPANS)]
            for variant in grid:
                core.fuse = _variant(variant)  # type: ignore[assignment]
                results[variant] = _score(memory, samples)
        finally:
            core.fuse, fusion.BM25_SPAN_SHARE, fusion.VECTOR_SPAN = saved  # type: ignore[assignment]
    convs = [str(s["sample_id"]) for s in samples]
    print("| fusion | BM25 span share | cosine span | " + " | ".join(f"R@{c}" for c in CUTS) + " |")
    print("|---|---|---|" + "---|" * len(CUTS))
    for variant, per in results.items():
        means = [statistics.fmean(x for c in convs for x in per[c][cut]) for cut in CUTS]
        name, a, b = ("min-max", "-", "-") if variant is None else ("scale-aware", *variant)
        print(f"| {name} | {a} | {b} | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    print(
        "\ncross-validated R@10 of scale-aware (chosen on four conversations, scored on the fifth):"
    )
    folds = []
    for held in convs:
        train = [c for c in convs if c != held]
        best = max((v for v in results if v is not None), key=lambda v: statistics.fmean(
            x for c in train for x in results[v][c][10]))  # fmt: skip
        folds.append((held, best, statistics.fmean(results[best][held][10])))
    scores = [f[2] for f in folds]
    detail = ", ".join(f"{h}: {v} R@10={r:.3f}" for h, v, r in folds)
    print(f"mean {statistics.fmean(scores):.3f}, worst {min(scores):.3f} ({detail})")


if __name__ == "__main__":
    main()
