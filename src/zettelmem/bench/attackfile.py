"""Attacks from a file for `mem bench poison --attacks`: a JSON line per attack text.

Each line is {"text": ..., "kind": ...} with an optional "target_question" (a
question of the LoCoMo file, asked in its own conversation) and an optional
"group" (lines that share one form a single attack written as several notes, in
file order: an instruction split across notes). A text without a target is
aimed at a question picked round-robin over the conversations; it is hooked to
the question by putting the question where the text says ``{question}``, or in
front of it ("<question> <text>"), as a note written to steer that answer does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zettelmem.bench.attacks import Attack, hooked
from zettelmem.errors import InvalidInput

PLACEHOLDER = "{question}"


def _rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{number}: not JSON ({exc.msg}); write one "
                               'object a line: {"text": ..., "kind": ...}') from None  # fmt: skip
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("text"), str)
            or not row["text"].strip()
            or not isinstance(row.get("kind"), str)
        ):
            raise InvalidInput(f'{path}:{number}: needs a non-empty "text" and a "kind" string')
        rows.append(row)
    if not rows:
        raise InvalidInput(f"{path}: no attacks in it; write one JSON object a line")
    return rows


def _asked(samples: list[dict[str, Any]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """question -> (scope, evidence) for every question of the file."""
    return {
        str(qa.get("question", "")).strip(): (str(s["sample_id"]),
                                              tuple(qa.get("evidence") or ()))
        for s in samples
        for qa in s.get("qa", [])
    }  # fmt: skip


def load(path: Path, samples: list[dict[str, Any]], seed: int = 0) -> list[Attack]:
    """The attacks of a file, each aimed at one question of ``samples``."""
    rows = _rows(path)
    groups: dict[str, list[dict[str, Any]]] = {}
    for number, row in enumerate(rows):
        groups.setdefault(str(row.get("group", f"#{number}")), []).append(row)
    free = hooked(samples, sum(1 for g in groups.values() if not g[0].get("target_question")),
                  seed)  # fmt: skip
    if not free and any(not g[0].get("target_question") for g in groups.values()):
        raise InvalidInput(f"{path}: the LoCoMo file has no question to aim attacks at")
    asked = _asked(samples)
    out, spare = [], iter(free)
    for members in groups.values():
        question = str(members[0].get("target_question") or "").strip()
        if question:
            if question not in asked:
                raise InvalidInput(f"{path}: target_question {question!r} is not a question "
                                   "of the LoCoMo file; copy it from the file's qa")  # fmt: skip
            scope, evidence = asked[question]
            event_at = None
        else:
            scope, question, event_at, evidence = next(spare)
        given = bool(members[0].get("target_question"))
        notes = [str(m["text"]) if given else _aim(str(m["text"]), question, i == 0)
                 for i, m in enumerate(members)]  # fmt: skip
        out.append(Attack(str(members[0]["kind"]), question, scope, notes, event_at,
                          evidence=evidence))  # fmt: skip
    return out


def _aim(text: str, question: str, first: bool) -> str:
    if PLACEHOLDER in text:
        return text.replace(PLACEHOLDER, question)
    return f"{question} {text}" if first else text
