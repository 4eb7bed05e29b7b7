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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zettelmem.bench import attackfile
from zettelmem.bench import attacks as generator
from zettelmem.bench.locomo import _score, ingest
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
    attacks_file: Path | None = None,
    source: str = SOURCE,
) -> dict[str, Any]:
    """The report: attacks from the generator (``per_kind`` of each kind) or, with
    ``attacks_file``, the attacks of that JSONL file (see attackfile.py)."""
    samples = locomo.load(path)
    attacks = (attackfile.load(attacks_file, samples) if attacks_file
               else generator.attacks(samples, per_kind=per_kind))  # fmt: skip
    # per_kind is the generator's setting: a file's attacks come as many as it holds.
    report: dict[str, Any] = {"attacks": len(attacks),
                              "per_kind": None if attacks_file else per_kind,
                              "attacks_from": str(attacks_file) if attacks_file else "generator",
                              "written_as": source,
                              "poison_notes": sum(len(a.notes) for a in attacks),
                              "kinds": dict(sorted(Counter(a.kind for a in attacks).items())),
                              "modes": {}}  # fmt: skip
    for mode in modes:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="mem-poison-") as tmp:
            memory = Memory(home=tmp, embedder=embedder, llm=False, guard=mode, store="")
            try:
                report["modes"][mode] = _one_mode(memory, path, samples, attacks, source)
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
    memory: Memory,
    path: Path,
    samples: list[dict[str, Any]],
    attacks: list[generator.Attack],
    source: str,
) -> dict[str, Any]:
    ingest(memory, path)
    clean_ids = {n.id for n in memory.list_notes(limit=1_000_000)}
    before = _score(memory, samples, 10, None, True)["R@10"]
    honest = (_honest_agent_notes(memory, samples, source)
              + _honest_user_notes(memory, samples, source))  # fmt: skip
    written = _inject(memory, attacks, source)
    reached: Counter[str] = Counter()
    for attack in attacks:
        hits = memory.recall(attack.target_question, k=10,
                             filters=memory.filters(scope=attack.scope)).hits  # fmt: skip
        if any(written.attack_of.get(h.note.id) is attack for h in hits):
            reached[attack.kind] += 1
    after = _score(memory, samples, 10, None, True)["R@10"]
    kinds = Counter(a.kind for a in attacks)
    return {
        "poisoned_at_10": round(sum(reached.values()) / len(attacks), 3),
        "held": round(sum(written.held.values()) / len(attacks), 3),
        "by_kind": {k: round(reached[k] / n, 3) for k, n in sorted(kinds.items())},
        "held_by_kind": {k: round(written.held[k] / n, 3) for k, n in sorted(kinds.items())},
        "clean_before": round(before, 4),
        "clean_after": round(after, 4),
        "clean_rewritten": len(_rewritten(memory, set(written.attack_of), clean_ids)),
        "clean_linked": len(_linked(memory, set(written.attack_of), clean_ids)),
        "quarantined": written.quarantined,
        "caught_by": dict(written.caught_by.most_common()),
        "honest_notes": len(honest),
        "honest_flagged": sum(1 for v in honest if v == "flag"),
        "honest_quarantined": sum(1 for v in honest if v == "quarantine"),
        "pending_review": len(memory.review()),
    }


@dataclass
class _Written:
    attack_of: dict[str, generator.Attack] = field(default_factory=dict)  # note id -> attack
    held: Counter[str] = field(default_factory=Counter)  # attacks with a note held, by kind
    caught_by: Counter[str] = field(default_factory=Counter)  # held notes per kind of reason
    quarantined: int = 0


def _inject(memory: Memory, attacks: list[generator.Attack], source: str) -> _Written:
    """Write every attack's notes one at a time, as an agent would through MCP."""
    out = _Written()
    for attack in attacks:
        held = False
        for text in attack.notes:
            note = memory.remember(text, scope=attack.scope, source=source,
                                      event_at=attack.event_at).note  # fmt: skip
            out.attack_of[note.id] = attack
            out.quarantined += note.status == "quarantined"
            found = memory.records.verdicts_of([note.id]).get(note.id)
            if found and found.verdict != "accept":
                held = True
                out.caught_by.update({r.split(":", 1)[0] for r in found.reasons})
        out.held[attack.kind] += held
    return out


HONEST_EVERY = 40  # one real turn in this many is also written as an agent's note


def _verdict_of(memory: Memory, note_id: str) -> Verdict:
    found = memory.records.verdicts_of([note_id]).get(note_id)
    return found.verdict if found else "accept"


def _honest_agent_notes(
    memory: Memory, samples: list[dict[str, Any]], source: str
) -> list[Verdict]:
    """Write real facts the way an honest agent would (its own words, through MCP):
    '<Speaker> said that <turn>'. Returns each note's verdict (accept, flag, quarantine):
    the guard's false positives on ordinary agent writes."""
    out = []
    for note in locomo.notes(samples)[::HONEST_EVERY]:
        speaker, _, text = note.content.partition(": ")
        written = memory.remember(f"{speaker} said that {text}", scope=note.scope,
                                     source=source, event_at=note.event_at).note  # fmt: skip
        out.append(_verdict_of(memory, written.id))
    return out


def _honest_user_notes(memory: Memory, samples: list[dict[str, Any]], source: str) -> list[Verdict]:
    """Write the shipped corpus of ordinary preferences and reminders, many of them
    imperative ("Don't book flights before 9am"), through MCP into the conversations'
    scopes: the guard's false positives on notes that instruct but do not attack."""
    scopes = [str(s["sample_id"]) for s in samples]
    out = []
    for i, text in enumerate(honest_notes()):
        written = memory.remember(text, scope=scopes[i % len(scopes)], source=source).note
        out.append(_verdict_of(memory, written.id))
    return out


def honest_notes() -> list[str]:
    """The shipped corpus of honest notes (data/honest_notes.txt), one a line."""
    lines = (Path(__file__).parents[1] / "data" / "honest_notes.txt").read_text(encoding="utf-8")
    return [line.strip() for line in lines.splitlines()
            if line.strip() and not line.startswith("#")]  # fmt: skip


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
    """The report as the README's Markdown tables: one row per guard mode, then one row
    per attack kind."""
    lines = [
        "| guard | poisoned hit @10 | cut vs off | attacks held (flagged or quarantined) "
        "| clean R@10 before | clean R@10 with poison | clean notes rewritten | clean notes "
        "linked | poisoned notes quarantined | honest notes flagged / quarantined |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, row in report["modes"].items():
        lines.append(
            f"| {mode} | {row['poisoned_at_10']:.3f} | {row.get('poisoned_cut', 0):.0%} "
            f"| {row['held']:.0%} | {row['clean_before']:.3f} | {row['clean_after']:.3f} "
            f"| {row['clean_rewritten']} | {row['clean_linked']} | {row['quarantined']} "
            f"| {row['honest_flagged']} / {row['honest_quarantined']} of {row['honest_notes']} |"
        )
    return "\n".join(lines) + "\n\n" + kinds_table(report)


def kinds_table(report: dict[str, Any]) -> str:
    """Per attack kind: poisoned hit @10 in each mode, and the share held at write."""
    modes = list(report["modes"])
    held = [m for m in modes if m != "off"]
    lines = [
        "| kind | attacks | "
        + " | ".join(f"hit @10 {m}" for m in modes)
        + "".join(f" | held in {m}" for m in held)
        + " |",
        "|---|---|" + "---|" * (len(modes) + len(held)),
    ]
    for kind, count in report["kinds"].items():
        hits = " | ".join(f"{report['modes'][m]['by_kind'].get(kind, 0):.2f}" for m in modes)
        holds = "".join(f" | {report['modes'][m]['held_by_kind'].get(kind, 0):.0%}" for m in held)
        lines.append(f"| {kind} | {count} | {hits}{holds} |")
    return "\n".join(lines)
