"""Plain text: one note per paragraph (split at blank lines), long ones cut at sentences."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from zettelmem.models import NewNote
from zettelmem.redaction import redact
from zettelmem.transfer.importers.units import (
    Group,
    Rejected,
    Unit,
    check_granularity,
    clip,
    digest,
    part_source,
    read_head,
    split_text,
)

NOTE_LIMIT = 4_000


def looks_like(head: str) -> bool:
    """Any readable text (the last resort of detection)."""
    return bool(head.strip()) and "\x00" not in head


def read(path: Path, scope: str, granularity: str, redact_secrets: bool) -> Iterator[Unit]:
    """One Group for the file (InvalidInput now if it is empty or not UTF-8)."""
    check_granularity(granularity)  # paragraphs are the unit of a text, whatever it says
    read_head(path)
    return _units(path, scope, redact_secrets)


def paragraphs(lines: Iterator[str]) -> Iterator[str]:
    """Blocks of lines between blank lines."""
    block: list[str] = []
    for line in lines:
        if line.strip():
            block.append(line.rstrip("\r\n"))
        elif block:
            yield "\n".join(block).strip()
            block = []
    if block:
        yield "\n".join(block).strip()


def _units(path: Path, scope: str, redact_secrets: bool) -> Iterator[Unit]:
    notes: list[NewNote] = []
    redacted = truncated = 0
    failure = None
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8-sig") as handle:
        try:
            for index, whole in enumerate(paragraphs(iter(handle))):
                # A paragraph's dedupe key is its text (and how often it came before), not
                # the file's name or its place: a copy, or the text piped in, adds nothing.
                key = digest(whole)
                seen[key] = seen.get(key, 0) + 1
                base_key = f"text:#{key}" + (f"@{seen[key]}" if seen[key] > 1 else "")
                paragraph, cut = clip(whole)
                truncated += cut
                if redact_secrets:
                    paragraph, count = redact(paragraph)
                    redacted += count
                base = f"text:{path.name}#{index}"
                for i, piece in enumerate(split_text(paragraph, NOTE_LIMIT)):
                    notes.append(NewNote(piece, scope, part_source(base, i),
                                         dedupe_key=part_source(base_key, i)))  # fmt: skip
        except UnicodeDecodeError:
            failure = Rejected(
                path.name, f"not UTF-8 text after {len(notes)} notes; convert the file first"
            )
    yield Group(ref=path.name, title=path.stem, notes=notes, redacted=redacted,
                truncated=truncated)  # fmt: skip
    if failure is not None:
        yield failure
