"""Cross-validated LoCoMo: choose the ranking weights on some conversations, score the rest.

Every conversation is imported once; each question is asked once per candidate
weighting (the slow part, embedding, happens only at import). For each fold the
weighting with the best mean R@10 on the other conversations is scored on the
held-out ones, so the reported numbers never saw their own questions.
"""

from __future__ import annotations

import statistics
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from zettelmem.bench.locomo import KS, ingest, questions
from zettelmem.errors import InvalidInput
from zettelmem.memory.core import Memory
from zettelmem.retrieval.weights import DEFAULT, Weights
from zettelmem.transfer.importers import locomo

# Candidate weightings: the shipped defaults, then each weight moved alone (a
# full grid costs its product in recalls; one at a time is enough to see whether
# a fold would choose differently, and includes switching each mechanism off).
GRID: tuple[Weights, ...] = (
    DEFAULT,
    *(replace(DEFAULT, bm25=v) for v in (0.5, 0.7)),
    *(replace(DEFAULT, context=v) for v in (0.0, 0.3, 0.9)),
    *(replace(DEFAULT, stage=v) for v in (0.0, 0.1, 0.3)),
    *(replace(DEFAULT, speaker=v) for v in (0.05, 0.25)),
    *(replace(DEFAULT, length=v) for v in (0.0, 0.1, 0.3)),
    *(replace(DEFAULT, question=v) for v in (0.0, 0.2)),
)
DEPTH = max(KS)


@dataclass(frozen=True)
class Scored:
    """One question's recall at every cut, from one ranked list of DEPTH hits."""

    scope: str
    category: int
    recall: dict[int, float]


def score(
    memory: Memory,
    samples: Sequence[dict[str, Any]],
    weights: Weights,
    graph: bool = True,
    fusion: str | None = None,
) -> list[Scored]:
    """Ask every question once (top DEPTH); R@k for each cut is read off the one list."""
    out = []
    for sample in samples:
        scope = str(sample["sample_id"])
        for qa in questions(sample):
            hits = memory.recall(qa["question"], k=DEPTH, filters=memory.filters(scope=scope),
                                 fusion=fusion, graph=graph, weights=weights).hits  # fmt: skip
            found = [h.note.source.rsplit("/", 1)[-1] for h in hits]
            gold = set(qa["evidence"])
            recall = {cut: len(gold & set(found[:cut])) / len(gold) for cut in KS}
            out.append(Scored(scope, qa["category"], recall))
    return out


def summarise(rows: Sequence[Scored]) -> dict[str, Any]:
    """R@k over questions, and R@10 by category."""
    out: dict[str, Any] = {f"R@{cut}": _mean([r.recall[cut] for r in rows]) for cut in KS}
    by_cat: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        by_cat[row.category].append(row.recall[10])
    out["by_category"] = {str(c): _mean(v) for c, v in sorted(by_cat.items())}
    out["questions"] = len(rows)
    return out


def run_folds(
    path: Path,
    folds: int = 5,
    embedder: str | None = None,
    fusion: str | None = None,
    progress: Callable[[str], None] | None = None,
    grid: Sequence[Weights] | None = None,
) -> dict[str, Any]:
    """Import once, score every weighting, then choose-on-the-rest per fold.

    ``pooled``: every question scored once, by the fold that held it out (comparable
    with the plain benchmark); ``fold_mean`` and ``worst``: across folds.
    """
    samples = locomo.load(path)
    if not 2 <= folds <= len(samples):
        raise InvalidInput(
            f"--folds must be between 2 and the number of conversations ({len(samples)}), "
            f"got {folds}"
        )
    with (
        tempfile.TemporaryDirectory(prefix="mem-folds-") as tmp,
        Memory(home=tmp, embedder=embedder, llm=False, store="") as memory,
    ):
        ingest(memory, path)
        if progress:
            progress(f"imported {memory.records.count()} turns")
        return cross_validate(memory, samples, folds, grid or GRID, fusion, progress)


def cross_validate(
    memory: Memory,
    samples: Sequence[dict[str, Any]],
    folds: int,
    grid: Sequence[Weights] = GRID,
    fusion: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The per-fold report on an already imported memory (one scope per conversation)."""
    scored = []
    for i, weights in enumerate(grid):
        scored.append(score(memory, samples, weights, fusion=fusion))
        if progress:
            progress(f"weighting {i + 1}/{len(grid)}: {weights.label()}")
    ids = [str(s["sample_id"]) for s in samples]
    table = []
    for fold in range(folds):
        test = set(ids[fold::folds])
        train = [[r for r in rows if r.scope not in test] for rows in scored]
        chosen = max(range(len(grid)), key=lambda g: (_r10(train[g]), -g))
        held = [s for s in samples if str(s["sample_id"]) in test]
        plain = score(memory, held, grid[chosen], graph=False, fusion=fusion)
        rows = [r for r in scored[chosen] if r.scope in test]
        table.append({
            "test": sorted(test),
            "chosen": asdict(grid[chosen]),
            **summarise(rows),
            "defaults": summarise([r for r in scored[0] if r.scope in test]),
            "without_graph": summarise(plain),
            "rows": rows,
            "plain_rows": plain,
        })  # fmt: skip
    held_out = [r for fold in table for r in fold.pop("rows")]
    plain_rows = [r for fold in table for r in fold.pop("plain_rows")]
    return {
        "folds": table,
        "pooled": {**summarise(held_out), "without_graph": summarise(plain_rows)},
        "fold_mean": _across(table),
        "worst": _worst(table),
        "weightings": _each(grid, scored, [set(f["test"]) for f in table]),
    }


def _across(table: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {f"R@{c}": _mean([f[f"R@{c}"] for f in table]) for c in KS}
    cats = sorted({c for f in table for c in f["by_category"]})
    out["by_category"] = {c: _mean([f["by_category"][c] for f in table if c in f["by_category"]])
                          for c in cats}  # fmt: skip
    plain = [f["without_graph"] for f in table]
    out["without_graph"] = {
        "R@10": _mean([p["R@10"] for p in plain]),
        "by_category": {
            c: _mean([p["by_category"][c] for p in plain if c in p["by_category"]]) for c in cats
        },
    }
    return out


def _each(
    grid: Sequence[Weights], scored: list[list[Scored]], tests: list[set[str]]
) -> list[dict[str, Any]]:
    """Every weighting's R@10 on each fold's held-out conversations (what a change does
    fold by fold, e.g. a mechanism switched off), and pooled over all questions."""
    return [
        {
            "weights": asdict(weights),
            "folds": [_mean([r.recall[10] for r in rows if r.scope in test]) for test in tests],
            "R@10": _mean([r.recall[10] for r in rows]),
            "multi-hop": _mean([r.recall[10] for r in rows if r.category == 1]),
        }
        for weights, rows in zip(grid, scored)
    ]


def _worst(table: list[dict[str, Any]]) -> dict[str, Any]:
    fold = min(table, key=lambda f: f["R@10"])
    return {"test": fold["test"], **{f"R@{c}": fold[f"R@{c}"] for c in KS}}


def _r10(rows: Sequence[Scored]) -> float:
    return statistics.fmean(r.recall[10] for r in rows) if rows else 0.0


def _mean(values: Sequence[float]) -> float:
    return round(statistics.fmean(values), 4) if values else 0.0


_CATEGORIES = {"1": "multi-hop", "2": "temporal", "3": "open-domain", "4": "single-hop"}


def table(report: dict[str, Any]) -> str:
    """The per-fold table, then pooled, fold mean and worst fold, as Markdown."""
    cuts = " | ".join(f"R@{c}" for c in KS)
    head = (
        f"| held out | chosen weights | {cuts} | multi-hop | no graph R@10 | no graph multi-hop |"
    )
    lines = [head, "|---|---|" + "---|" * (len(KS) + 3)]
    for fold in report["folds"]:
        chosen = Weights(**fold["chosen"]).label()
        lines.append(_row(", ".join(fold["test"]), chosen, fold, fold["without_graph"]))
    pooled = report["pooled"]
    lines.append(_row("**pooled**", "", pooled, pooled["without_graph"]))
    worst = report["worst"]
    lines.append(f"| worst fold ({', '.join(worst['test'])}) | | "
                 + " | ".join(f"{worst[f'R@{c}']:.3f}" for c in KS) + " | | | |")  # fmt: skip
    lines.append("")
    lines.append("| by category (pooled) | " + " | ".join(_CATEGORIES.values()) + " |")
    lines.append("|---|" + "---|" * len(_CATEGORIES))
    for name, part in (("graph", pooled), ("no graph", pooled["without_graph"])):
        cells = " | ".join(f"{part['by_category'].get(c, 0.0):.3f}" for c in _CATEGORIES)
        lines.append(f"| {name} | {cells} |")
    held = " | ".join(", ".join(f["test"]) for f in report["folds"])
    lines += ["", f"| weighting (held-out R@10) | {held} | pooled R@10 | multi-hop |"]
    lines.append("|---|" + "---|" * (len(report["folds"]) + 2))
    for each in report["weightings"]:
        cells = " | ".join(f"{v:.3f}" for v in each["folds"])
        name = Weights(**each["weights"]).label()
        lines.append(f"| {name} | {cells} | {each['R@10']:.3f} | {each['multi-hop']:.3f} |")
    return "\n".join(lines)


def _row(name: str, chosen: str, part: dict[str, Any], plain: dict[str, Any]) -> str:
    cells = " | ".join(f"{part[f'R@{c}']:.3f}" for c in KS)
    multi = part["by_category"].get("1", 0.0)
    plain_multi = plain["by_category"].get("1", 0.0)
    return (
        f"| {name} | {chosen} | {cells} | {multi:.3f} | {plain['R@10']:.3f} | {plain_multi:.3f} |"
    )
