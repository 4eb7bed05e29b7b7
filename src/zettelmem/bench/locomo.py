"""Retrieval benchmarks on LoCoMo, with the protocol of its README (R@k by question)."""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from zettelmem.errors import InvalidInput
from zettelmem.memory.core import Memory
from zettelmem.transfer.importers import locomo

KS = (1, 5, 10, 20)


def _evidence(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for item in items:
        out.extend(part for part in re.split(r"[;,\s]+", str(item)) if part)
    return list(dict.fromkeys(out))


def questions(sample: dict[str, Any]) -> list[dict[str, Any]]:
    """Questions of categories 1-4 that have evidence."""
    out = []
    for qa in sample.get("qa", []):
        category = int(qa.get("category", 0))
        evidence = _evidence(qa.get("evidence", []))
        if category in (1, 2, 3, 4) and evidence:
            out.append({"question": qa["question"], "category": category, "evidence": evidence})
    return out


def ingest(memory: Memory, path: Path) -> int:
    """Import the LoCoMo file as `mem import FILE --format locomo` does (the benchmark
    scores the store a user's import makes, batch boundaries included); returns the
    number of turns stored."""
    from zettelmem.transfer.pipeline import run_import

    report = run_import(memory, path, fmt="locomo")
    if report.rejected_count:
        raise InvalidInput(f"{path}: {report.rejected_count} conversation(s) could not be "
                           f"imported: {report.rejected[0][1]}")  # fmt: skip
    return report.added


def run_locomo(
    path: Path,
    k: int = 10,
    embedder: str | None = None,
    fusion: str | None = None,
    progress: Callable[[str], None] | None = None,
    graph: bool = True,
    store: str | None = None,
) -> dict[str, Any]:
    """Import into a temporary home (or the empty database ``store`` names; never the one
    MEM_STORE or the settings name) and score every question; returns the report."""
    samples = locomo.load(path)
    with tempfile.TemporaryDirectory(prefix="mem-bench-") as tmp:
        # the protocol: no LLM
        memory = Memory(home=tmp, embedder=embedder, llm=False, store=store or "")
        try:
            if memory.records.count():
                raise InvalidInput("the benchmark needs an empty record; point --store at a "
                                   "fresh database")  # fmt: skip
            started = time.perf_counter()
            turns = ingest(memory, path)
            ingest_s = time.perf_counter() - started
            if progress:
                progress(f"imported {turns} turns in {ingest_s:.1f}s")
            report = _score(memory, samples, k, fusion, graph)
            if graph:
                plain = _score(memory, samples, k, fusion, False)
                report["without_graph"] = {
                    key: plain[key] for key in (*(f"R@{c}" for c in sorted(set(KS) | {k})),
                                                "by_category")
                }  # fmt: skip
        finally:
            memory.close()
    report["ingest_per_s"] = round(turns / ingest_s, 1) if ingest_s else None
    report["notes"] = turns
    return report


def _score(
    memory: Memory, samples: Sequence[dict[str, Any]], k: int, fusion: str | None, graph: bool
) -> dict[str, Any]:
    cuts = sorted(set(KS) | {k})
    recalls: dict[int, list[float]] = defaultdict(list)
    by_cat: dict[int, list[float]] = defaultdict(list)
    by_sample: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    latencies: list[float] = []
    for sample in samples:
        scope = str(sample["sample_id"])
        for qa in questions(sample):
            gold = set(qa["evidence"])
            # Each cut is its own recall: the graph's share of the list depends on k.
            for cut in cuts:
                started = time.perf_counter()
                hits = memory.recall(qa["question"], k=cut, filters=memory.filters(scope=scope),
                                     fusion=fusion, graph=graph).hits  # fmt: skip
                if cut == k:
                    latencies.append((time.perf_counter() - started) * 1000)
                found = {h.note.source.rsplit("/", 1)[-1] for h in hits}
                recalls[cut].append(len(gold & found) / len(gold))
                by_sample[scope][cut].append(len(gold & found) / len(gold))
                if cut == 10:
                    by_cat[qa["category"]].append(len(gold & found) / len(gold))
    report: dict[str, Any] = {f"R@{cut}": _mean(recalls[cut]) for cut in cuts}
    report["by_category"] = {
        str(c): {"R@10": _mean(v), "questions": len(v)} for c, v in sorted(by_cat.items())
    }
    report["by_conversation"] = {
        scope: {**{f"R@{cut}": _mean(got[cut]) for cut in cuts}, "questions": len(got[k])}
        for scope, got in by_sample.items()
    }
    report["questions"] = len(recalls[k])
    report["recall_ms"] = {"p50": _pct(latencies, 50), "p95": _pct(latencies, 95)}
    return report


def _mean(values: list[float]) -> float:
    return round(statistics.fmean(values), 4) if values else 0.0


def _pct(values: list[float], pct: int) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))], 2)
