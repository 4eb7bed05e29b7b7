"""Importers: one module per format, each turning a file into units (Groups of notes) to store.

``units`` is the door: it resolves the format (by content, see ``detect``),
checks what can be checked before anything is read, and returns a lazy stream
of Group and Rejected units. Parsers are pure: they read their input and
nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from zettelmem.errors import InvalidInput
from zettelmem.models import GRANULARITIES, IMPORT_FORMATS, NewNote
from zettelmem.transfer.importers import chatgpt, claude, jsonl, locomo, markdown, text
from zettelmem.transfer.importers.units import (
    HEAD_BYTES,
    Group,
    Message,
    Rejected,
    Unit,
    chat_group,
    check_granularity,
    read_head,
)
from zettelmem.validation import validate_scope

__all__ = ["FORMATS", "GRANULARITIES", "Group", "Rejected", "Unit", "detect", "read", "units"]

FORMATS = IMPORT_FORMATS
DEFAULT_SCOPE = "default"
_JSON_START = re.compile(r'\A\s*(?:\{\s*["}]|\[\s*(?:[\[{"\]\d-]|true|false|null|\Z))')
_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")

Reader = Callable[[Path, str, str, bool], Iterator[Unit]]
_READERS: dict[str, Reader] = {
    "chatgpt": chatgpt.read,
    "claude": claude.read,
    "jsonl": jsonl.read,
    "markdown": markdown.read,
    "text": text.read,
}


def _choices() -> str:
    return ", ".join(FORMATS)


def check_readable(path: Path) -> None:
    """InvalidInput unless PATH is a folder or a regular file: a FIFO or a device would
    block or never end, so it is refused before it is opened."""
    if not path.exists():
        raise InvalidInput(f"{path} does not exist; pass a file or folder to import")
    if not (path.is_dir() or path.is_file()):
        raise InvalidInput(
            f"{path} is not a regular file or folder (a pipe or a device?); save the export "
            "to a file and import that"
        )


def detect(path: Path) -> str:
    """The format of a file or folder, judged by its content (not its name)."""
    check_readable(path)
    if path.is_dir():
        if next(markdown.vault_files(path), None) is None:
            raise markdown.no_markdown(path)
        return "markdown"
    head = read_head(path)
    if _JSON_START.match(head):
        if locomo.looks_like(path):
            return "locomo"
        if '"haystack_sessions"' in head and '"question_id"' in head:
            raise InvalidInput(
                f"{path} is a LongMemEval benchmark file, not an export to import; score "
                "recall on it with `mem bench longmemeval FILE`"
            )
        for name, looks_like in (
            ("chatgpt", chatgpt.looks_like),
            ("claude", claude.looks_like),
            ("jsonl", jsonl.looks_like),
        ):
            if looks_like(head):
                return name
        _wrapped_export(path, head)
        _whole_file_problem(path, head)
        raise InvalidInput(
            f"cannot tell the format of {path}: it is JSON but not a ChatGPT, Claude.ai, LoCoMo "
            f"or chat messages export; pass --format (one of: {_choices()})"
        )
    if path.suffix.lower() in _JSON_SUFFIXES:
        raise InvalidInput(
            f"{path} is named {path.suffix} but does not hold JSON; fix the file, or pass "
            "--format text to import it as plain text"
        )
    return "markdown" if markdown.looks_like(head) else "text"


def _whole_file_problem(path: Path, head: str) -> None:
    """InvalidInput naming what is wrong with a small JSON file that fits no format: cut
    off or malformed (where), or an empty list (nothing to import)."""
    if path.stat().st_size > HEAD_BYTES:
        return  # a large file is judged by its head only
    import json

    try:
        whole = json.loads(head)
    except RecursionError:
        return
    except json.JSONDecodeError as exc:
        lines = [line for line in head.splitlines() if line.strip()]
        if len(lines) > 1 and _each_line_parses(lines):
            return  # JSON Lines, just not of chat messages
        cut = exc.pos >= len(head.rstrip())
        raise InvalidInput(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
            + (
                "; it ends early, as a file cut off in a download or a copy does: export it again"
                if cut
                else "; fix the file, or export it again"
            )
        ) from None
    if whole == [] or whole == {}:
        shape = "list" if whole == [] else "object"
        raise InvalidInput(f"{path} holds no conversations (an empty JSON {shape}); nothing "
                           "to import")  # fmt: skip


def _each_line_parses(lines: list[str]) -> bool:
    import json

    try:
        for line in lines[:50]:
            json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def _wrapped_export(path: Path, head: str) -> None:
    """InvalidInput naming the fix when an export's list of conversations sits inside an object."""
    body = head.lstrip()
    if not body.startswith("{"):
        return
    for what, looks_like in (("ChatGPT", chatgpt.looks_like), ("Claude.ai", claude.looks_like)):
        if looks_like("[" + body):
            raise InvalidInput(
                f"{path} is a JSON object, but a {what} export is a list of conversations; "
                "pass the export's conversations.json as it came out of the zip"
            )


def units(
    path: Path,
    fmt: str = "auto",
    scope: str | None = None,
    granularity: str = "message",
    redact_secrets: bool = True,
) -> tuple[str, Iterator[Unit]]:
    """(format, units) for a file or folder; what is wrong up front raises InvalidInput now.

    Each conversation or document is one Group (written as one unit); a record
    that cannot be read, or a truncated tail, is a Rejected unit in the stream.
    """
    if fmt == "auto":
        fmt = detect(path)
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; use one of: auto, {_choices()}")
    check_granularity(granularity)
    check_readable(path)
    if path.is_dir() and fmt != "markdown":
        raise InvalidInput(f"{path} is a folder; only --format markdown reads folders")
    if fmt == "locomo":
        return fmt, _locomo_units(path, scope, granularity, redact_secrets)
    return fmt, _READERS[fmt](path, scope or DEFAULT_SCOPE, granularity, redact_secrets)


def _locomo_units(
    path: Path, scope: str | None, granularity: str, redact_secrets: bool
) -> Iterator[Unit]:
    samples = locomo.load(path)  # LoCoMo files are small; load checks their shape up front
    return (unit for s in samples for unit in _locomo_sample(path, s, scope, granularity,
                                                            redact_secrets))  # fmt: skip


def _locomo_sample(
    path: Path, sample: dict[str, Any], scope: str | None, granularity: str, redact_secrets: bool
) -> Iterator[Unit]:
    """A sample's turns without a dia_id (each rejected: it names the turn), then the sample
    as one group, or its rejection when its sample_id cannot name a scope."""
    sample_id = str(sample["sample_id"])
    if scope is None:
        try:
            validate_scope(sample_id)
        except InvalidInput:
            yield Rejected(f"{path.name}#{sample_id}",
                           f"sample_id {sample_id!r} cannot name a scope; pass --scope NAME to "
                           "import the file into that scope")  # fmt: skip
            return
    for where in locomo.unnamed_turns(sample):
        yield Rejected(f"{path.name}#{sample_id} {where}",
                       "a turn without a dia_id (LoCoMo names every turn); add one")  # fmt: skip
    yield _locomo_group(path, sample, scope, granularity, redact_secrets)


def _locomo_group(
    path: Path, sample: dict[str, Any], scope: str | None, granularity: str, redact_secrets: bool
) -> Group:
    """One LoCoMo sample; with ``message`` its notes are those of ``locomo.notes``."""
    sample_id = str(sample["sample_id"])
    messages = []
    for turn in locomo.turns(sample):
        speaker, _, said = turn.content.partition(": ")
        messages.append(Message(turn.dia_id, speaker, said, turn.event_at))
    return chat_group(
        f"{path.name}#{sample_id}",
        sample_id,
        f"locomo:{sample_id}",
        messages,
        scope or sample_id,
        granularity,
        redact_secrets,
    )


def read(path: Path, fmt: str, scope: str | None = None) -> tuple[str, list[NewNote]]:
    """(format, notes) for a file, all or nothing: a Rejected unit raises InvalidInput.

    Kept for callers of the list API; new code uses ``units``.
    """
    if fmt == "auto":
        fmt = detect(path)
    if fmt == "locomo":
        return fmt, locomo.notes(locomo.load(path), scope=scope)
    fmt, stream = units(path, fmt, scope)
    notes: list[NewNote] = []
    for unit in stream:
        if isinstance(unit, Rejected):
            raise InvalidInput(f"{path}: {unit.ref}: {unit.reason}")
        notes.extend(unit.notes)
    return fmt, notes
