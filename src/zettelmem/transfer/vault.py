"""Reading back a vault that `mem export --format markdown` wrote: each note as its front
matter says (id, scope, dates, tags, ...), its content without the generated Links
section, and its outgoing links, restored verbatim as a JSONL export is."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zettelmem.errors import NotFound
from zettelmem.memory.core import Memory
from zettelmem.text import unix_newlines
from zettelmem.transfer.export import LINKS_HEADING, VAULT_KEYS, RestoreResult, row_problem
from zettelmem.transfer.importers.markdown import SUFFIXES, vault_files

_OUTGOING = re.compile(r"^- ([a-z_]+) \(([0-9.eE+-]+)\): \[\[(.+)\]\]$")
_INCOMING = re.compile(r"^- ([a-z_]+) from \(([0-9.eE+-]+)\): \[\[(.+)\]\]$")
_BATCH = 256

VaultNote = tuple[dict[str, Any], list[dict[str, Any]]]  # (note row, its outgoing link rows)


def _edited(memory: Memory, row: dict[str, Any], result: RestoreResult) -> bool:
    """Whether ROW is a stored, current note whose text was edited in the vault; if so,
    the edit is written as a new note (through the write path: linked and checked) that
    supersedes it."""
    try:
        stored = memory.records.get(str(row["id"]))
    except NotFound:
        return False
    if unix_newlines(stored.content) == row["content"]:
        # Not edited (a superseded note's text comes back as it was; a text stored with
        # CRLF before texts were stored with LF reads back with LF).
        return False
    seen = {stored.id}
    while stored.status == "superseded":  # an earlier edit replaced it: its newest version
        newer = [x.src for x in memory.records.adjacent([stored.id], ["supersedes"])
                 if x.dst == stored.id and x.src not in seen]  # fmt: skip
        if not newer:
            break
        stored = memory.records.get(newer[0])
        seen.add(stored.id)
    if unix_newlines(stored.content) == row["content"] or stored.status != "active":
        return False
    result.read += 1
    written = memory.remember(
        row["content"], tags=list(row.get("tags") or ()), scope=stored.scope,
        source=stored.source, event_at=stored.event_at, keep_secrets=True,
    )  # fmt: skip
    if written.note.id != stored.id and written.note.status == "active":
        memory.link(written.note.id, stored.id, "supersedes")
        result.added += int(written.created)
        result.superseded += 1
    return True


def read_note(path: Path) -> VaultNote | None:
    """The note a vault file holds, or None when the file is not one `mem export` wrote."""
    try:
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.split("\n")
    if not text.startswith("---\nid: ") or "---" not in lines[1:]:
        return None
    end = lines.index("---", 1)
    row: dict[str, Any] = {"dedupe_key": None}  # vaults before it was written
    try:
        for line in lines[1:end]:
            key, _, value = line.partition(": ")
            if key in VAULT_KEYS:
                row[key] = json.loads(value)
    except ValueError:
        return None
    content, links = _split_links("\n".join(lines[end + 1 :]))
    row["content"] = content
    if row_problem("note", row) is not None:
        return None
    return row, [{"src": row["id"], "dst": dst, "kind": kind, "weight": weight,
                  "created_at": row["created_at"]} for kind, weight, dst in links]  # fmt: skip


def _split_links(body: str) -> tuple[str, list[tuple[str, float, str]]]:
    """(content, outgoing links): the generated section is cut off only when every line
    of it is one `mem export` writes, so a heading of the same name in a note stays."""
    head, found, tail = body.rpartition("\n" + LINKS_HEADING + "\n")
    if not found:
        return body.strip(), []
    links = []
    for line in filter(None, tail.split("\n")):
        out, back = _OUTGOING.match(line), _INCOMING.match(line)
        if out:
            # A file stem ends with the note's id (see export._file_stem).
            links.append((out.group(1), float(out.group(2)), out.group(3).rsplit(" ", 1)[-1]))
        elif not back:
            return body.strip(), []
    return head.strip(), links


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return list(vault_files(path))
    return [path] if path.suffix.lower() in SUFFIXES else []


def is_exported_vault(path: Path) -> bool:
    """A folder (or a .md file) whose every Markdown file is a note `mem export` wrote."""
    files = _files(path)
    return bool(files) and all(read_note(f) is not None for f in files)


def count(path: Path) -> int:
    """How many notes an exported vault holds (for a dry run)."""
    return sum(1 for f in _files(path) if read_note(f) is not None)


def restore_vault(
    memory: Memory, path: Path, progress: Callable[[int], None] | None = None
) -> RestoreResult:
    """Restore every note of an exported vault with its links (both ends must exist).

    Notes already stored (same id, or same scope and dedupe key) are left alone, so
    importing a vault again adds nothing; a stored note whose text was edited in the
    vault since comes back as a new note that supersedes it.
    """
    result = RestoreResult()
    notes = [note for note in map(read_note, _files(path)) if note is not None]
    notes = [(row, out) for row, out in notes if not _edited(memory, row, result)]
    for start in range(0, len(notes), _BATCH):
        rows = [row for row, _ in notes[start : start + _BATCH]]
        vectors = memory.embedder.embed([row["content"] for row in rows])
        written = memory.records.restore_note_rows(rows, vectors)
        result.read += len(rows)
        result.added += len(written)
        result.skipped += len(rows) - len(written)
        if progress:
            progress(len(rows))
    links = [link for _, out in notes for link in out]
    result.links, _ = memory.records.restore_other_rows(links, [], [])
    memory.indexes.catch_up()
    return result
