"""Retrieval on LongMemEval's published JSON: session- and turn-level R@k and NDCG@k.

Each question brings its own haystack of dated sessions; every turn becomes a
note (`<role>: <content>`, dated by its session) in a scope of its own, each
session a thread. A question is asked within its scope; sessions are ranked by
their best turn. Gold sessions are `answer_session_ids`; gold turns are those
marked `has_answer`. Abstention questions (no gold session) are skipped.
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from zettelmem.errors import InvalidInput
from zettelmem.memory.core import Memory
from zettelmem.models import NewNote
from zettelmem.timeutil import STORED_FORMAT

KS = (5, 10)
DEPTH = 50  # turns asked for; enough to rank the sessions behind the first ten
_KEYS = ("question_id", "question_type", "question", "haystack_session_ids",
         "haystack_dates", "haystack_sessions", "answer_session_ids")  # fmt: skip


def load(path: Path) -> list[dict[str, Any]]:
    """Read and shape-check a LongMemEval file (a JSON list of questions)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"{path} is not JSON ({exc}); pass a LongMemEval JSON file") from None
    if not isinstance(data, list) or not data:
        raise InvalidInput(f"{path} is not in LongMemEval format (a JSON list of questions)")
    for item in data:
        missing = [k for k in _KEYS if not isinstance(item, dict) or k not in item]
        if missing:
            raise InvalidInput(f"{path}: a question lacks {', '.join(missing)}; "
                               "pass LongMemEval's published JSON")  # fmt: skip
        if (
            not len(item["haystack_session_ids"])
            == len(item["haystack_dates"])
            == len(item["haystack_sessions"])
        ):
            raise InvalidInput(f"{path}: question {item['question_id']} has haystack lists "
                               "of different lengths")  # fmt: skip
    return data


def parse_date(text: str) -> str | None:
    """'2023/05/20 (Sat) 02:21' -> '2023-05-20T02:21:00' (None when unparseable)."""
    for fmt in ("%Y/%m/%d (%a) %H:%M", "%Y/%m/%d %H:%M", "%Y/%m/%d"):
        try:
            return datetime.strptime(text.strip(), fmt).strftime(STORED_FORMAT)
        except ValueError:
            continue
    return None


def notes(item: dict[str, Any]) -> list[NewNote]:
    """One note per turn of the question's haystack, in its own scope."""
    scope = f"lme-{item['question_id']}"
    out = []
    for sid, date, session in zip(
        item["haystack_session_ids"], item["haystack_dates"], item["haystack_sessions"]
    ):
        when = parse_date(str(date))
        for i, turn in enumerate(session):
            text = f"{turn.get('role', '?')}: {turn.get('content', '')}".strip()
            source = f"longmemeval:{item['question_id']}/{sid}/{i}"
            out.append(NewNote(content=text, scope=scope, source=source, event_at=when,
                               dedupe_key=source))  # fmt: skip
    return out


def gold_turns(item: dict[str, Any]) -> set[tuple[str, int]]:
    return {
        (str(sid), i)
        for sid, session in zip(item["haystack_session_ids"], item["haystack_sessions"])
        for i, turn in enumerate(session)
        if turn.get("has_answer")
    }


def run_longmemeval(
    path: Path,
    embedder: str | None = None,
    graph: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Import every haystack into a temporary home and score each question."""
    items = [i for i in load(path) if i["answer_session_ids"]]
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="mem-lme-") as tmp,
        Memory(home=tmp, embedder=embedder, llm=False, store="") as memory,
    ):
        for n, item in enumerate(items, 1):
            memory.remember_many(notes(item))
            scope = memory.filters(scope=f"lme-{item['question_id']}")
            hits = memory.recall(item["question"], k=DEPTH, graph=graph, filters=scope).hits
            ranked = [_where(h.note.source) for h in hits]
            rows.append(_score(item, ranked))
            if progress and n % 50 == 0:
                progress(f"{n}/{len(items)} questions")
    return _report(rows)


def _where(source: str) -> tuple[str, int]:
    session, _, turn = source.split(":", 1)[1].split("/", 1)[1].rpartition("/")
    return session, int(turn)


def _score(item: dict[str, Any], ranked: list[tuple[str, int]]) -> dict[str, Any]:
    sessions = list(dict.fromkeys(s for s, _ in ranked))
    gold_s = {str(s) for s in item["answer_session_ids"]}
    gold_t = gold_turns(item)
    row: dict[str, Any] = {"type": item["question_type"]}
    for k in KS:
        row[f"session R@{k}"] = len(gold_s & set(sessions[:k])) / len(gold_s)
        row[f"session NDCG@{k}"] = ndcg([s in gold_s for s in sessions[:k]], len(gold_s), k)
        if gold_t:
            row[f"turn R@{k}"] = len(gold_t & set(ranked[:k])) / len(gold_t)
            row[f"turn NDCG@{k}"] = ndcg([t in gold_t for t in ranked[:k]], len(gold_t), k)
    return row


def ndcg(relevant: Sequence[bool], total: int, k: int) -> float:
    """Binary-relevance NDCG@k: DCG of the list over the DCG of a perfect one."""
    dcg = sum(1.0 / math.log2(i + 2) for i, hit in enumerate(relevant[:k]) if hit)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(total, k)))
    return dcg / ideal if ideal else 0.0


def _report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    metrics = [f"{level} {m}@{k}" for level in ("session", "turn") for m in ("R", "NDCG")
               for k in KS]  # fmt: skip
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_type[row["type"]].append(row)

    def mean(group: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"questions": len(group)}
        for m in metrics:
            values = [r[m] for r in group if m in r]
            out[m] = round(statistics.fmean(values), 4) if values else None
        return out

    return {"all": mean(rows), "by_type": {t: mean(g) for t, g in sorted(by_type.items())}}


def table(report: dict[str, Any]) -> str:
    """The report as a Markdown table, one row per question type."""
    metrics = [m for m in report["all"] if m != "questions"]
    lines = ["| question type | questions | " + " | ".join(metrics) + " |",
             "|---|---|" + "---|" * len(metrics)]  # fmt: skip
    for name, part in [*report["by_type"].items(), ("**all**", report["all"])]:
        cells = " | ".join("-" if part[m] is None else f"{part[m]:.3f}" for m in metrics)
        lines.append(f"| {name} | {part['questions']} | {cells} |")
    return "\n".join(lines)
