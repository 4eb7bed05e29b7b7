"""`mem import`: a file or folder of chat logs, notes or text into the store.

Importers (see `importers/`) turn the input into units: a conversation or a
document as a group of notes, or a rejection with its reason. Groups are
written whole, in batches whose boundaries depend only on the input, and
every note's dedupe key names what it is in the export (the conversation and message
ids, or the text itself where there are none; never the file's name); so re-importing
adds nothing, not even a copy of the file under another name, and an import
interrupted anywhere and run again ends with the same store as one uninterrupted run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from zettelmem.errors import InvalidInput
from zettelmem.guard.signals import AS_EDITED
from zettelmem.memory.core import Memory
from zettelmem.models import Change, ConversationVersion, Link, NewNote, Note
from zettelmem.store.threads import thread_of
from zettelmem.transfer import export, importers, vault
from zettelmem.transfer.importers.units import (
    Group,
    Rejected,
    Unit,
    bytes_read,
    counting_unread,
    message_of,
)
from zettelmem.validation import validate_scope
from zettelmem.zettel.construct import supersede

log = logging.getLogger("zettelmem")

BATCH_NOTES = 128  # a batch closes at the first group boundary past this many notes
MAX_REJECTIONS_KEPT = 100
DRY_NEW = "+"  # a dry run's stand-in id for a note the real run would add (never an id)


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do)."""

    file: str
    format: str = ""
    dry_run: bool = False
    groups: int = 0  # conversations or documents read whole
    read: int = 0  # notes read
    added: int = 0
    skipped: int = 0  # stored already
    forgotten: int = 0  # stored once, then forgotten: never brought back by an import
    # not stored, of a conversation the store took from a later export (left as it is)
    outdated: int = 0
    redacted: int = 0  # secrets replaced
    truncated: int = 0  # messages cut at the note limit
    links: int = 0  # wikilinks stored
    superseded: int = 0  # stored notes of a document whose text it no longer holds
    undated: int = 0  # moments given that could not be read: those notes are dated now
    flagged: int = 0  # added notes the guard flagged (recalled with a warning)
    quarantined: int = 0  # added notes the guard quarantined (not recalled until approved)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    rejected_count: int = 0
    ids: list[str] = field(default_factory=list)
    bytes_done: int = 0  # of the input, for progress

    def reject(self, where: str, why: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTIONS_KEPT:
            self.rejected.append((where, why))


Progress = Callable[[ImportReport], None]


def preflight(path: Path, fmt: str = "auto", scope: str | None = None) -> None:
    """The checks an import makes before it reads a unit, for a door to run before it
    opens a home: a refused import then leaves no home behind."""
    if scope is not None:
        validate_scope(scope)
    importers.check_readable(path)
    if fmt == "auto" and not export.looks_like_export(path) and not vault.is_exported_vault(path):
        importers.detect(path)


def run_import(
    memory: Memory,
    path: Path,
    fmt: str = "auto",
    scope: str | None = None,
    granularity: str = "message",
    redact_secrets: bool = True,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import PATH; bad units are counted as rejections, never half-written."""
    if scope is not None:
        validate_scope(scope)
    importers.check_readable(path)
    report = ImportReport(file=str(path), dry_run=dry_run)
    restored = (
        "jsonl" if fmt in ("auto", "jsonl") and export.looks_like_export(path)
        else "vault" if fmt in ("auto", "markdown") and vault.is_exported_vault(path)
        else None
    )  # fmt: skip
    if restored is not None:
        if scope is not None:
            log.warning("%s is a `mem export`, restored as it was: each note keeps the scope "
                        "it was exported with, not --scope %s", path, scope)  # fmt: skip
        return _restore(memory, path, report, dry_run, progress,
                        exported_vault=restored == "vault")  # fmt: skip
    with counting_unread() as unread:
        report.format, units = importers.units(
            path, fmt, scope=scope, granularity=granularity, redact_secrets=redact_secrets
        )
        titles: dict[str, str] = {}  # lower-cased title -> note id
        wikilinks: list[tuple[str, str]] = []  # (note id, target title)
        versions: list[ConversationVersion] = []  # of the conversations written, kept per batch

        def known(group: Group, ids: dict[str, str]) -> None:
            _collect_titles(group, ids, titles, wikilinks)
            _retire(memory, group, ids, report, dry_run)
            if not dry_run and (version := _version(group)) is not None:
                versions.append(version)

        batches = _batches(memory, units, report, known)
        paired: Iterable[tuple[Batch, dict[str, np.ndarray]]] = (
            ((b, {}) for b in batches) if dry_run
            else memory.embedded_ahead(batches, lambda b: [n.content for _, n in b])
        )  # fmt: skip
        for batch, embedded in paired:
            _write(memory, batch, embedded, dry_run, report, known)
            _keep_versions(memory, versions)
            if progress:
                report.bytes_done = bytes_read(path)
                progress(report)
        report.undated = unread[0]
    if not dry_run:
        _keep_versions(memory, versions)  # of conversations stored whole already
        memory.indexes.catch_up()
        report.links = _store_wikilinks(memory, titles, wikilinks)
    return report


Batch = list[tuple[Group, NewNote]]


def _write(
    memory: Memory,
    batch: Batch,
    embedded: dict[str, np.ndarray],
    dry_run: bool,
    report: ImportReport,
    on_stored: Callable[[Group, dict[str, str]], None],
) -> None:
    """Store one batch (or, dry, count what it would add)."""
    if dry_run:
        known = memory.records.duplicates([n for _, n in batch])
        report.skipped += sum(1 for _, n in batch if n.dedupe_key in known)
        report.added += sum(1 for _, n in batch if n.dedupe_key not in known)
        ids = {n.source: known[n.dedupe_key][0].id if n.dedupe_key in known
               else DRY_NEW + n.source for _, n in batch}  # fmt: skip
        for group in dict.fromkeys(g for g, _ in batch):
            on_stored(group, ids)
        return
    stored = memory.store_batch([n for _, n in batch], embedded)
    by_source: dict[str, str] = {}
    # By the source read (as the dry run): a note stored from a file of another name
    # comes back with its own.
    for (_, new), (note, created) in zip(batch, stored):
        by_source[new.source] = note.id
        if created:
            report.added += 1
            report.ids.append(note.id)
        else:
            report.skipped += 1
    added = [note.id for note, created in stored if created]
    for verdict in memory.records.verdicts_of(added).values() if added else ():
        if verdict.verdict == "quarantine":
            report.quarantined += 1
        elif verdict.verdict == "flag":
            report.flagged += 1
    for group in dict.fromkeys(g for g, _ in batch):
        on_stored(group, by_source)


def _batches(
    memory: Memory,
    units: Iterable[Unit],
    report: ImportReport,
    on_known: Callable[[Group, dict[str, str]], None],
) -> Iterator[list[tuple[Group, NewNote]]]:
    """Whole groups, validated, gathered into batches that close at group boundaries."""
    batch: list[tuple[Group, NewNote]] = []
    # An empty store holds no note under an earlier key: not looked up (the dry run of a
    # large export, or a first import, pays no second look-up per note).
    earlier = memory.records.count() > 0
    for unit in units:
        if isinstance(unit, Rejected):
            report.reject(unit.ref, unit.reason)
            continue
        try:
            notes = [memory.complete(note) for note in unit.notes]
            notes = _earlier_keys(memory, notes) if earlier else notes
        except InvalidInput as exc:
            report.reject(unit.ref, str(exc))
            continue
        if not notes:
            report.reject(unit.ref, "no message with text")
            continue
        report.groups += 1
        report.read += len(notes)
        report.redacted += unit.redacted
        report.truncated += unit.truncated
        gone = memory.records.forgotten_keys(notes)
        if gone:
            report.forgotten += sum(1 for n in notes if n.dedupe_key in gone)
            notes = [n for n in notes if n.dedupe_key not in gone]
            if not notes:
                continue
        known = memory.records.duplicates(notes)
        if _outdated(memory, unit):
            # Its branch is not the conversation's now: neither superseding the stored
            # turns nor coming in beside them.
            held = sum(1 for n in notes if n.dedupe_key in known)
            report.skipped += held
            report.outdated += len(notes) - held
            continue
        if all(note.dedupe_key in known for note in notes):
            # Stored whole already: skipped before it costs an embedding. Dropping whole
            # groups keeps the later batches' boundaries those of an uninterrupted run.
            report.skipped += len(notes)
            stored = {n.source: known[n.dedupe_key][0].id for n in notes}
            on_known(unit, stored)
            continue
        batch.extend((unit, note) for note in notes)
        if len(batch) >= BATCH_NOTES:
            yield batch
            batch = []
    if batch:
        yield batch


def _retire(
    memory: Memory, group: Group, ids: dict[str, str], report: ImportReport, dry_run: bool
) -> None:
    """A document read again supersedes its stored notes whose text it no longer holds
    (an edited section's old text, a deleted section): the document's notes now are its
    current version. Each is superseded by the note now at its place (or the first).
    A conversation supersedes only its notes of the messages its export holds off the
    branch shown (see Group.in_place_of): an older export holds fewer messages, not
    other ones. (An export older than one the store took the conversation from, by the
    conversation's last update, does not come here: see _outdated.)

    A text the document holds again (an edit undone) is an older version of its own, which
    is made current again. The dry run plans the same (its new notes counted as active)."""
    if group.replaces is None or not group.notes:
        return
    current = [ids[n.source] for n in group.notes if n.source in ids]
    now = set(current)
    place = group.in_place_of
    active_here = memory.records.active_in_thread(group.notes[0].scope, group.replaces)
    stale = [n for n in active_here
             if n.id not in now and (place is None or message_of(n.source) in place)]  # fmt: skip
    # A current note not active in the thread may be one to make current again.
    shown = {n.id for n in active_here}
    held = any(i not in shown and not i.startswith(DRY_NEW) for i in now)
    if not current or not (stale or held):
        return
    stored = memory.records.get_many(sorted(i for i in now if not i.startswith(DRY_NEW)))
    leaving = {n.id for n in stale}
    revived, unlinked = _revive(memory, group, stored, now, leaving)
    # Only a current note replaces one: a new version the guard quarantined does not. A
    # document's waits in review instead, and approving it applies the replacement.
    active = {i for i in now if i.startswith(DRY_NEW)} | set(revived)
    active |= {n.id for n in stored if n.status == "active"}
    pairs = [(_in_place(old, ids, place) or current[0], old.id) for old in stale]
    replaced = [(newer, old) for newer, old in pairs if newer in active]
    report.superseded += len(replaced)
    if dry_run:
        return
    for newer, old in pairs if place is None else ():
        if newer not in active:
            memory.hold_replacement(newer, old, AS_EDITED)  # when the guard holds it
    if not (replaced or revived):
        return
    what = "document" if place is None else "conversation"
    why = f"the {what} was imported again holding this text"
    links: list[Link] = []
    changes = unlinked + [Change(i, "status", "superseded", "active", why) for i in revived]
    for newer, old in replaced:
        made, changed = supersede(newer, old, f"the {what} was imported again, edited")
        links += made
        changes += changed
    memory.records.write([], np.zeros((0, memory.embedder.dims)), links, changes)


def _outdated(memory: Memory, group: Group) -> bool:
    """Whether the store took the group's conversation from an export that changed it
    later than this one did. Turns cannot tell: the older export may hold the newer
    branch too (the earlier answer chosen again before it), and a newer one may show an
    earlier branch again. Without a date on either side, the export is not older."""
    version = _version(group)
    if version is None:
        return False
    kept = memory.records.conversation_version(version.scope, version.thread)
    return kept is not None and version.updated_at < kept


def _version(group: Group) -> ConversationVersion | None:
    """The date a conversation written holds in the store from now on (the newest kept,
    so that an older export, imported next, is known as older)."""
    if group.updated is None or group.replaces is None or not group.notes:
        return None
    return ConversationVersion(group.notes[0].scope, group.replaces, group.updated)


def _keep_versions(memory: Memory, versions: list[ConversationVersion]) -> None:
    if versions:
        memory.records.keep_conversation_versions(versions)
        versions.clear()


def _in_place(old: Note, ids: dict[str, str], place: dict[str, str] | None) -> str | None:
    """The id of the note now at a stale note's place: the same source (a section's new
    text), or the note of the message that took its place in the conversation."""
    if old.source in ids or place is None:
        return ids.get(old.source)
    return ids.get(place.get(message_of(old.source), ""))


def _revive(
    memory: Memory, group: Group, stored: list[Note], now: set[str], leaving: set[str]
) -> tuple[list[str], list[Change]]:
    """The group's current notes that only its own older versions superseded, versions
    it no longer holds (the text came back), and the changes that take those
    `supersedes` links away. A superseding note still current elsewhere (a message of a
    newer export that this older one does not hold) keeps the old one superseded. In a
    conversation every turn of the branch shown is current, also one superseded by
    another turn of it (when the turn at its place was forgotten)."""
    held = {n.id: n for n in stored if n.status == "superseded"}
    if not held:
        return [], []
    by: dict[str, list[str]] = {}
    for link in memory.records.adjacent(sorted(held), ["supersedes"]):
        if link.dst in held:
            by.setdefault(link.dst, []).append(link.src)
    what = "document" if group.in_place_of is None else "conversation"
    revived, unlinked = [], []
    for note_id, superseders in sorted(by.items()):
        newer = memory.records.get_many(superseders)
        if not all(_going(n, group, now, leaving) for n in newer):
            continue  # replaced by another note, or within the document: it stays so
        revived.append(note_id)
        unlinked += [Change(n.id, f"link:{note_id}:supersedes", "1.0", "null",
                            f"{note_id} is current again: its {what} holds its text")
                     for n in newer]  # fmt: skip
    return revived, unlinked


def _going(newer: Note, group: Group, now: set[str], leaving: set[str]) -> bool:
    """Whether a note that superseded one of the group's current notes gives way to it."""
    if thread_of(newer.source) != group.replaces:
        return False
    if newer.id in now:
        return group.in_place_of is not None
    return newer.status != "active" or newer.id in leaving


def _earlier_keys(memory: Memory, notes: list[NewNote]) -> list[NewNote]:
    """A note stored when its dedupe key was its source (which names the file it came
    from) keeps that key, so importing the same export again still adds nothing."""
    moved = [replace(n, dedupe_key=n.source) for n in notes if n.dedupe_key != n.source]
    if not moved:
        return notes
    earlier = memory.records.duplicates(moved)
    if not earlier:
        return notes
    # Only the same text: an edited document's section is a new version, not the old note.
    return [
        replace(n, dedupe_key=n.source)
        if n.source in earlier and earlier[n.source][0].content == n.content
        else n
        for n in notes
    ]


def _collect_titles(
    group: Group,
    by_source: dict[str, str],
    titles: dict[str, str],
    wikilinks: list[tuple[str, str]],
) -> None:
    first = next((by_source[n.source] for n in group.notes if n.source in by_source), None)
    if first is not None and group.titles:
        # Obsidian links by file name: the file's first note answers to its stem.
        stem = Path(group.ref.split("#", 1)[0]).stem
        titles.setdefault(stem.strip().lower(), first)
    for source, title in group.titles.items():
        note_id = by_source.get(source)
        if note_id is None:
            continue
        # "Vault note > Heading" answers to the heading's title and to the file's.
        for name in (title, title.split(" > ", 1)[0]):
            titles.setdefault(name.strip().lower(), note_id)
    for source, target in group.wikilinks:
        if source in by_source:
            wikilinks.append((by_source[source], target))


def _store_wikilinks(
    memory: Memory, titles: dict[str, str], wikilinks: list[tuple[str, str]]
) -> int:
    """[[Target]] becomes a `mentions` link to the note titled Target (when imported)."""
    links = []
    for src, target in wikilinks:
        dst = titles.get(target.strip().lower())
        if dst is not None and dst != src:
            links.append(Link(src, dst, "mentions", 1.0))
    if not links:
        return 0
    empty = np.zeros((0, memory.embedder.dims), dtype=np.float32)
    return len(memory.records.write([], empty, links).links)


def _restore(
    memory: Memory,
    path: Path,
    report: ImportReport,
    dry_run: bool,
    progress: Progress | None,
    exported_vault: bool = False,
) -> ImportReport:
    """A JSONL export, or a vault `mem export` wrote, restored verbatim."""
    report.format = "zettelmem-vault" if exported_vault else "zettelmem-export"
    if dry_run:
        counts = vault.count(path) if exported_vault else export.check_export(path)["note"]
        report.read = counts
        return report

    def step(done: int) -> None:
        report.read += done
        if progress:
            progress(report)

    restore = vault.restore_vault if exported_vault else export.restore_jsonl
    restored = restore(memory, path, progress=step)
    report.read, report.added, report.skipped = restored.read, restored.added, restored.skipped
    report.links, report.superseded = restored.links, restored.superseded
    report.flagged, report.quarantined = restored.flagged, restored.quarantined
    for where, why in restored.rejected:
        report.reject(where, why)
    return report
