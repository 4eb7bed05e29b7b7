"""Reading back a vault that `mem export --format markdown` wrote: each note as its front
matter says (id, scope, dates, tags, ...), its content without the generated Links
section, and its outgoing links, restored as a JSONL export is. A file is text anyone
can write, so the guard checks every note it brings, as any write: the verdict a file
claims may hold its note more firmly than the check does, never less."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zettelmem.errors import InvalidInput, NotFound
from zettelmem.guard.judge import keep_lesson, stored_verdict
from zettelmem.guard.signals import AS_EDITED, QUARANTINE_AT, Verdict, stricter
from zettelmem.memory.core import Memory
from zettelmem.models import Filters, NewNote, StoredVerdict
from zettelmem.text import unix_newlines
from zettelmem.transfer.checks import check_verdict
from zettelmem.transfer.export import (
    LINKS_HEADING,
    VAULT_HELD_KEYS,
    VAULT_KEYS,
    RestoreResult,
    row_problem,
)
from zettelmem.transfer.importers.markdown import SUFFIXES, vault_files

_OUTGOING = re.compile(r"^- ([a-z_]+) \(([0-9.eE+-]+)\): \[\[(.+)\]\]$")
_INCOMING = re.compile(r"^- ([a-z_]+) from \(([0-9.eE+-]+)\): \[\[(.+)\]\]$")
_BATCH = 256


@dataclass(frozen=True)
class VaultNote:
    """One note file of an exported vault."""

    row: dict[str, Any]  # the note's row, as a JSONL export holds it
    links: list[dict[str, Any]]  # its outgoing links' rows
    claimed: Verdict | None  # the verdict its front matter says holds it, if any


def _edited(memory: Memory, row: dict[str, Any], result: RestoreResult) -> bool:
    """Whether ROW is a stored, current note whose text was edited in the vault; if so,
    the edit is written as a new note (through the write path: linked and checked) that
    supersedes it; one the guard quarantines waits in review, and approving it applies
    the replacement."""
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
    if written.note.id == stored.id:
        return True
    verdict = memory.held(written.note.id)
    held = verdict is not None
    result.added += int(written.created)
    result.skipped += int(not written.created)
    if written.created and verdict is not None:
        result.quarantined += int(verdict.verdict == "quarantine")
        result.flagged += int(verdict.verdict == "flag")
    if written.note.status == "active":
        memory.link(written.note.id, stored.id, "supersedes")
        result.superseded += 1
    elif held:  # quarantined: the stored note stays current until review approves the edit
        memory.hold_replacement(written.note.id, stored.id, AS_EDITED)
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
    held: dict[str, Any] = {}
    try:
        for line in lines[1:end]:
            key, _, value = line.partition(": ")
            if key in VAULT_KEYS:
                row[key] = json.loads(value)
            elif key in VAULT_HELD_KEYS:
                held[key] = json.loads(value)
    except ValueError:
        return None
    content, links = _split_links("\n".join(lines[end + 1 :]))
    row["content"] = content
    if row_problem("note", row) is not None:
        return None
    try:
        claimed = _claimed(row, held)
    except InvalidInput:
        return None  # not a verdict an export writes
    return VaultNote(row, [{"src": row["id"], "dst": dst, "kind": kind, "weight": weight,
                            "created_at": row["created_at"]} for kind, weight, dst in links],
                     claimed)  # fmt: skip


def _claimed(row: dict[str, Any], held: dict[str, Any]) -> Verdict | None:
    """The verdict a note's front matter claims: its verdict keys, or a status of
    quarantined (which no export writes: read as a claim to hold the note, and the note
    as active, so that review can settle it)."""
    if row.get("status") == "quarantined":
        row["status"] = "active"
        held = held or {"verdict": "quarantine", "risk": QUARANTINE_AT,
                        "reasons": ["quarantined, says the note's front matter"]}  # fmt: skip
    if not held:
        return None
    checked = check_verdict({**held, "note_id": row["id"], "at": row["created_at"],
                             "review": None, "reviewed_at": None})  # fmt: skip
    return Verdict(checked["verdict"], float(checked["risk"]), tuple(checked["reasons"]))


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
    vault since comes back as a new note that supersedes it. Every note is checked by the
    guard (see _restore_batch); one it quarantines is left unlinked.
    """
    result = RestoreResult()
    notes = [note for note in map(read_note, _files(path)) if note is not None]
    # Stored in the order they were written (ids sort by creation time too), not in the
    # order of the file names: a restored home lists its notes newest first, as the home
    # they came from does.
    notes.sort(key=lambda note: (note.row["created_at"], note.row["id"]))
    notes = [note for note in notes if not _edited(memory, note.row, result)]
    for start in range(0, len(notes), _BATCH):
        batch = notes[start : start + _BATCH]
        _restore_batch(memory, batch, result)
        if progress:
            progress(len(batch))
    # A quarantined note is left unlinked, as at write (approving it links it).
    labels = memory.records.matching_labels(Filters(statuses=("quarantined",)))
    held = {n.id for n in memory.records.by_labels(sorted(labels)).values()} if labels else set()
    links = [link for note in notes for link in note.links
             if link["src"] not in held and link["dst"] not in held]  # fmt: skip
    result.links, _ = memory.records.restore_other_rows(links, [], [])
    memory.indexes.catch_up()
    return result


def _restore_batch(memory: Memory, batch: list[VaultNote], result: RestoreResult) -> None:
    """Store a batch's notes not stored yet, each with the guard's verdict: its own check,
    as on any write, made stricter by the verdict its file claims."""
    known = memory.records.known_note_rows([note.row for note in batch])
    fresh = [note for note in batch if note.row["id"] not in known]
    rows = [dict(note.row) for note in fresh]
    vectors = memory.embed_texts([row["content"] for row in rows], {})
    checked = memory.check([_as_new(row) for row in rows], vectors)
    judged: list[StoredVerdict] = []
    for row, note, own in zip(rows, fresh, checked):
        verdict = stricter(own, note.claimed, memory.guard_mode)
        if verdict is None:
            continue
        if verdict.verdict == "quarantine" and memory.guard_mode == "quarantine":
            # Held back as a write is; a superseded version stays superseded (approving
            # it must not make it current).
            row["status"] = "quarantined" if row["status"] == "active" else row["status"]
        judged.append(stored_verdict(row["id"], verdict))
    written = {note_id for _, note_id in memory.records.restore_note_rows(rows, vectors, judged)}
    for row, vector in zip(rows, vectors):
        if row["id"] in written and row["status"] == "quarantined":
            reasons = next(v.reasons for v in judged if v.note_id == row["id"])
            keep_lesson(memory.records, row["scope"], row["content"], reasons, vector)
    result.read += len(batch)
    result.added += len(written)
    result.skipped += len(batch) - len(written)
    held = memory.records.held(sorted(written))
    verdicts = memory.records.verdicts_of(sorted(held)) if held else {}
    result.quarantined += sum(1 for v in verdicts.values() if v.verdict == "quarantine")
    result.flagged += sum(1 for v in verdicts.values() if v.verdict == "flag")


def _as_new(row: dict[str, Any]) -> NewNote:
    return NewNote(content=row["content"], scope=row["scope"], source=row["source"],
                   event_at=row["event_at"], keywords=tuple(row["keywords"]),
                   tags=tuple(row["tags"]), context=row["context"],
                   dedupe_key=row["dedupe_key"], id=row["id"],
                   status=row["status"])  # fmt: skip
