"""`mem recall --batch FILE`: many questions in one process, one JSON line an answer.

A script asking hundreds of questions pays the start-up (the embedding model, the
indexes) once instead of once a question. Each line of FILE is a question, or a JSON
object {"query": ..., "scope": ..., "k": ..., "tags": [...], "since": ..., "until": ...,
"id": ...} whose fields override the command's options for that line ("id" is echoed
back). Every line is read and checked before the first question is asked, so a bad
line is one Error naming it and nothing is printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zettelmem.errors import InvalidInput
from zettelmem.validation import validate_k

FIELDS = frozenset(("query", "scope", "k", "tags", "since", "until", "id"))


@dataclass(frozen=True)
class Question:
    line: int
    query: str
    scope: str | None
    k: int
    tags: tuple[str, ...]
    since: str | None
    until: str | None
    id: Any = None


def _text(path: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read --batch {path}: {exc.strerror or exc}; pass a file "
                           "of questions, one a line, or - for stdin") from None  # fmt: skip
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"--batch {path} is not UTF-8 text; convert it (iconv) and try "
                           "again") from None  # fmt: skip


def _field(where: str, row: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = row.get(name, default)
    if value is not None and not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidInput(f"{where}: \"{name}\" must be {kind.__name__}, got "
                           f"{type(value).__name__}; fix that line")  # fmt: skip
    return value


def questions(path: str, scope: str | None, k: int, tags: tuple[str, ...],
              since: str | None, until: str | None) -> list[Question]:  # fmt: skip
    """Every question of the file, checked; the options are each line's defaults."""
    out = []
    for number, line in enumerate(_text(path).splitlines(), 1):
        if not line.strip():
            continue
        where = f"--batch {'stdin' if path == '-' else path} line {number}"
        if not line.lstrip().startswith("{"):
            out.append(Question(number, line.strip(), scope, k, tags, since, until))
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise InvalidInput(f"{where} is not valid JSON ({exc}); write a question as "
                               'plain text or as {"query": ...}') from None  # fmt: skip
        unknown = sorted(set(row) - FIELDS)
        if unknown:
            raise InvalidInput(f"{where}: unknown field(s) {', '.join(unknown)}; use "
                               f"{', '.join(sorted(FIELDS))}")  # fmt: skip
        query = _field(where, row, "query", str, None)
        if not query or not query.strip():
            raise InvalidInput(f'{where} has no "query"; give the question as "query"')
        row_tags = _field(where, row, "tags", list, list(tags))
        if not all(isinstance(t, str) for t in row_tags):
            raise InvalidInput(f'{where}: "tags" must be a list of strings; fix that line')
        row_k = _field(where, row, "k", int, k)
        try:
            validate_k(row_k)
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc}") from None
        out.append(Question(number, query.strip(), _field(where, row, "scope", str, scope),
                            row_k, tuple(row_tags), _field(where, row, "since", str, since),
                            _field(where, row, "until", str, until), row.get("id")))  # fmt: skip
    if not out:
        raise InvalidInput(f"--batch {path} holds no question; write one a line")
    return out


def answers(memory: Any, asked: list[Question], **options: Any) -> Iterator[str]:
    """One compact JSON line an answer, in the file's order (filters checked first)."""
    from zettelmem.render import recall_out

    fusion, graph = options.pop("fusion"), options.pop("graph")
    filters = []
    for q in asked:
        try:
            filters.append(memory.filters(scope=q.scope, tags=q.tags, since=q.since,
                                          until=q.until, **options))  # fmt: skip
        except InvalidInput as exc:
            raise InvalidInput(f"--batch line {q.line}: {exc}") from None
    for q, chosen in zip(asked, filters):
        found = memory.recall(q.query, k=q.k, filters=chosen, fusion=fusion, graph=graph)
        row = recall_out(found).model_dump(mode="json")  # one dump, not a dump and a parse
        if q.id is not None:
            row = {"id": q.id, **row}
        yield json.dumps(row, ensure_ascii=False)
