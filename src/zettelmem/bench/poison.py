"""`mem bench poison`: how far adversarial notes get on the LoCoMo dev split, with and
without the guard.

For each guard mode (off, flag, quarantine) the conversations are imported into
a fresh home with that mode on, clean R@10 is measured, then the attacks of
attacks.py are written one note at a time (as an agent would through MCP), and
we measure: how often an attack's notes reach the top 10 of the question it
targets, clean R@10 again, and how many clean notes a poisoned note rewrote
(tags, context or status, from the history) or linked to.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from zettelmem.bench import attacks as generator
from zettelmem.bench.locomo import _score
from zettelmem.memory.core import Memory
from zettelmem.models import GUARD_MODES, Verdict
from zettelmem.transfer.importers import locomo

SOURCE = "mcp:agent"  # where injected notes claim to come from


def run_poison(
    path: Path,
    per_kind: int = 5,
    embedder: str | None = None,
    modes: Sequence[str] = GUARD_MODES,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    samples = locomo.load(path)
    attacks = generator.attacks(samples, per_kind=per_kind)
    report: dict[str, Any] = {"attacks": len(attacks), "per_kind": per_kind,
                              "poison_notes": sum(len(a.notes) for a in attacks),
                              "modes": {}}  # fmt: skip
    for mode in modes:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="mem-poison-") as tmp:
            memory = Memory(home=tmp, embedder=embedder, llm=False, guard=mode)
            try:
                report["modes"][mode] = _one_mode(memory, samples, attacks)
            finally:
                memory.close()
        if progress:
            progress(f"guard {mode}: {time.perf_counter() - started:.0f}s")
    base = report["modes"].get("off")
    for row in report["modes"].values():
        if base and base["poisoned_at_10"]:
            row["poisoned_cut"] = round(1 - row["poisoned_at_10"] / base["poisoned_at_10"], 3)
        if base:
            row["clean_loss"] = round(base["clean_before"] - row["clean_after"], 4)
    return report


def _one_mode(
    memory: Memory, samples: list[dict[str, Any]], attacks: list[generator.Attack]
) -> dict[str, Any]:
    memory.remember_many(locomo.notes(samples))
    clean_ids = {n.id for n in memory.list_notes(limit=1_000_000)}
    before = _score(memory, samples, 10, None, True)["R@10"]
    honest = _honest_agent_notes(memory, samples)
    injected: dict[str, generator.Attack] = {}
    outcomes: Counter[str] = Counter()
    caught_by: Counter[str] = Counter()  # held notes showing each kind of reason
    for attack in attacks:
        for text in attack.notes:
            note = memory.remember(text, scope=attack.scope, source=SOURCE,
                                      event_at=attack.event_at).note  # fmt: skip
            injected[note.id] = attack
            outcomes[f"{attack.kind}:{note.status}"] += 1
            found = memory.records.verdicts_of([note.id]).get(note.id)
            if found and found.verdict != "accept":
                caught_by.update({r.split(":", 1)[0] for r in found.reasons})
    reached: Counter[str] = Counter()
    for attack in attacks:
        hits = memory.recall(attack.target_question, k=10,
                             filters=memory.filters(scope=attack.scope)).hits  # fmt: skip
        if any(injected.get(h.note.id) is attack for h in hits):
            reached[attack.kind] += 1
    after = _score(memory, samples, 10, None, True)["R@10"]
    rewritten = _rewritten(memory, set(injected), clean_ids)
    linked = _linked(memory, set(injected), clean_ids)
    kinds = Counter(a.kind for a in attacks)
    return {
        "poisoned_at_10": round(sum(reached.values()) / len(attacks), 3),
        "by_kind": {k: round(reached[k] / n, 3) for k, n in sorted(kinds.items())},
        "clean_before": round(before, 4),
        "clean_after": round(after, 4),
        "clean_rewritten": len(rewritten),
        "clean_linked": len(linked),
        "quarantined": sum(v for k, v in outcomes.items() if k.endswith(":quarantined")),
        "caught_by": dict(caught_by.most_common()),
        "honest_notes": len(honest),
        "honest_flagged": sum(1 for v in honest if v == "flag"),
        "honest_quarantined": sum(1 for v in honest if v == "quarantine"),
        "pending_review": len(memory.review()),
    }


HONEST_EVERY = 40  # one real turn in this many is also written as an agent's note


def _honest_agent_notes(memory: Memory, samples: list[dict[str, Any]]) -> list[Verdict]:
    """Write real facts the way an honest agent would (its own words, through MCP):
    '<Speaker> said that <turn>'. Returns each note's verdict (accept, flag, quarantine):
    the guard's false positives on ordinary agent writes."""
    out = []
    for note in locomo.notes(samples)[::HONEST_EVERY]:
        speaker, _, text = note.content.partition(": ")
        written = memory.remember(f"{speaker} said that {text}", scope=note.scope,
                                     source=SOURCE, event_at=note.event_at).note  # fmt: skip
        found = memory.records.verdicts_of([written.id]).get(written.id)
        out.append(found.verdict if found else "accept")
    return out


def _rewritten(memory: Memory, poisoned: set[str], clean: set[str]) -> set[str]:
    """Clean notes whose history names a poisoned note as the cause of a change."""
    rows = memory.records.all_history_reasons()
    return {
        str(note_id)
        for note_id, reason in rows
        if note_id in clean and any(p in str(reason) for p in poisoned)
    }


def _linked(memory: Memory, poisoned: set[str], clean: set[str]) -> set[str]:
    """Clean notes a poisoned note is linked with (either way)."""
    out = set()
    for note_id in poisoned:
        for link in memory.links(note_id):
            other = link.dst if link.src == note_id else link.src
            if other in clean:
                out.add(other)
    return out


def table(report: dict[str, Any]) -> str:
    """The report as the README's Markdown table."""
    lines = [
        "| guard | poisoned hit @10 | cut vs off | instruction | false fact | trigger | chain "
        "| clean R@10 before | clean R@10 with poison | clean notes rewritten | clean notes "
        "linked | poisoned notes quarantined | honest agent notes flagged / quarantined |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, row in report["modes"].items():
        kinds = row["by_kind"]
        lines.append(
            f"| {mode} | {row['poisoned_at_10']:.3f} | {row.get('poisoned_cut', 0):.0%} "
            f"| {kinds.get('instruction', 0):.2f} | {kinds.get('false_fact', 0):.2f} "
            f"| {kinds.get('trigger', 0):.2f} | {kinds.get('chain', 0):.2f} "
            f"| {row['clean_before']:.3f} | {row['clean_after']:.3f} | {row['clean_rewritten']} "
            f"| {row['clean_linked']} | {row['quarantined']} "
            f"| {row['honest_flagged']} / {row['honest_quarantined']} of {row['honest_notes']} |"
        )
    return "\n".join(lines)
