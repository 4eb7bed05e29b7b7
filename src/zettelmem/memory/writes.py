"""Writes: remember one note or many, and forget. The facade owns write ordering:
validate, build derived fields, embed, one record transaction, then the indexes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from zettelmem.errors import InvalidInput
from zettelmem.guard.judge import Judge, keep_lesson, stored_verdict
from zettelmem.guard.signals import Verdict
from zettelmem.ids import content_key, new_id
from zettelmem.memory.base import embed_text
from zettelmem.memory.reads import Reads
from zettelmem.models import (
    INSIGHT_SOURCE,
    STATUSES,
    Change,
    Filters,
    ImportSummary,
    Link,
    NewNote,
    Note,
    StoredVerdict,
    WriteOutcome,
    WriteResult,
)
from zettelmem.redaction import redact
from zettelmem.store.derived import TEXT_WRITE_LAG
from zettelmem.timeutil import now_iso, parse_when
from zettelmem.validation import DEFAULT_SCOPE
from zettelmem.zettel.construct import supersede

log = logging.getLogger("zettelmem")

B = TypeVar("B")


@dataclass(frozen=True)
class _Batch:
    """One batch write: (note, created) per input note, and what the record stored."""

    pairs: list[tuple[Note, bool]]
    outcome: WriteOutcome | None
    verdicts: dict[str, StoredVerdict]


class Writes(Reads):
    """remember, remember_many, store_batch, forget."""

    def remember(
        self,
        content: str,
        *,
        tags: Sequence[str] = (),
        scope: str | None = None,
        source: str = "cli",
        event_at: str | None = None,
        dedupe_key: str | None = None,
        keep_secrets: bool = False,
    ) -> WriteResult:
        """Store one note (the same text in the same scope returns the stored one).

        Secrets in the text (API keys, tokens, passwords) are redacted unless
        ``keep_secrets``: agents write what they read."""
        if not keep_secrets and isinstance(content, str):
            content, count = redact(content)
            if count:
                log.warning("%d secret(s) redacted from the note; keep them with "
                            "--keep-secrets (MCP: keep_secrets)", count)  # fmt: skip
        new = self.complete(
            NewNote(
                content=content,
                scope=DEFAULT_SCOPE if scope is None else scope,
                source=source or "cli",
                event_at=parse_when(event_at, "event_at") if event_at else None,
                tags=tuple(tags),
                dedupe_key=dedupe_key,
            )
        )
        if new.event_at is not None and dedupe_key is None:
            # Stored before a note's time was part of its key: the same text and time.
            earlier = self.records.duplicates([replace(new, dedupe_key=content_key(new.content))])
            found = next(iter(earlier.values()), None)
            if found is not None and found[0].event_at == new.event_at:
                return WriteResult(found[0], False)
        batch = self._write([new], text_lag=TEXT_WRITE_LAG)
        self.indexes.catch_up(text_lag=TEXT_WRITE_LAG)
        [(note, created)] = batch.pairs
        if not created and note.status == "superseded" and dedupe_key is None:
            return self._restated(new, note)
        if not created or batch.outcome is None:
            return WriteResult(note, False)
        return WriteResult(
            note,
            True,
            links=tuple(x for x in batch.outcome.links if x.src == note.id),
            evolved=tuple(sorted({c.note_id for c in batch.outcome.changes})),
            verdict=batch.verdicts.get(note.id),
        )

    def _restated(self, new: NewNote, old: Note) -> WriteResult:
        """The text of a note a newer one replaced, written again: it is true again. The
        newest versions that replaced it are current unless one says the same already
        (then that one is the answer); else the text comes in as a new note that
        supersedes them, so recall and `as of` both give it from now on."""
        current = self._current_versions(old.id)
        same = [n for n in current if n.content == old.content]
        if same or not current:
            return WriteResult(same[0] if same else old, False)
        key = content_key(new.content, f"restated {now_iso()}")
        result = self.remember(new.content, tags=new.tags, scope=new.scope, source=new.source,
                               event_at=new.event_at, dedupe_key=key,
                               keep_secrets=True)  # already redacted  # fmt: skip
        if not result.created or result.note.status != "active":
            return result  # held by the guard: review decides
        links: list[Link] = []
        changes: list[Change] = []
        for replaced in current:
            made, caused = supersede(result.note.id, replaced.id, "an older text said again")
            links += made
            changes += caused
        self.records.write([], np.zeros((0, self.embedder.dims)), links, changes)
        self.indexes.catch_up(text_lag=TEXT_WRITE_LAG)
        return replace(result, links=(*result.links, *links))

    def _current_versions(self, note_id: str) -> list[Note]:
        """The active notes at the ends of the chains of replacements of a note."""
        seen, frontier, ends = {note_id}, [note_id], []
        while frontier:
            newer = sorted({x.src for x in self.records.adjacent(frontier, ["supersedes"])
                            if x.dst in frontier} - seen)  # fmt: skip
            seen.update(newer)
            for note in self.records.get_many(newer):
                if note.status == "active":
                    ends.append(note)
            frontier = newer
        return ends

    def remember_many(self, notes: Iterable[NewNote], batch_size: int = 128) -> ImportSummary:
        """Store notes in batches: one transaction per batch (the next batch is
        embedded meanwhile, in a second thread)."""
        summary = ImportSummary()
        batches = _batched((self.complete(n) for n in notes), batch_size)
        for batch, embedded in self.embedded_ahead(batches, lambda b: [n.content for n in b]):
            summary.read += len(batch)
            for note, created in self.store_batch(batch, embedded):
                if created:
                    summary.added += 1
                    summary.ids.append(note.id)
                else:
                    summary.skipped += 1
        self.indexes.catch_up()
        return summary

    def store_batch(
        self, batch: Sequence[NewNote], embedded: dict[str, np.ndarray] | None = None
    ) -> list[tuple[Note, bool]]:
        """One write of completed notes; (note, created) for each, in order.

        ``embedded``: vectors computed ahead (by text), e.g. while the previous batch
        was written; texts missing from it are embedded here.
        """
        return self._write(batch, embedded).pairs

    def _write(
        self,
        batch: Sequence[NewNote],
        embedded: dict[str, np.ndarray] | None = None,
        text_lag: int = 0,
    ) -> _Batch:
        """Plan the Zettelkasten step for the new notes, then one transaction.

        ``text_lag``: how far the BM25 index may lag behind the record meanwhile
        (single writes; see TEXT_WRITE_LAG).
        """
        # Earlier batches must be findable as neighbours.
        self.indexes.catch_up(text_lag=text_lag)
        known = self.records.duplicates(batch)
        fresh = [replace(n, id=n.id or new_id()) for n in batch if n.dedupe_key not in known]
        if not fresh:
            return _Batch([known[n.dedupe_key] for n in batch], None, {})
        vectors = self.embed_texts([embed_text(n) for n in fresh], embedded or {})
        calls = int(self.settings.get("llm_max_calls_per_write"))
        judge = None if self.guard_mode == "off" else Judge(
            self.records, self.guard_mode, self.llm, calls
        )  # fmt: skip
        plan = self.linker.plan(fresh, vectors, self.llm, calls, judge)
        stored = {v.note_id: v for v in (stored_verdict(i, j) for i, j in plan.verdicts)}
        outcome = self.records.write(plan.notes, vectors, plan.links, plan.changes,
                                     list(stored.values()))  # fmt: skip
        made = {note.id: note for note, created in outcome.notes if created}
        for note_id, verdict in plan.verdicts:
            if verdict.verdict == "quarantine" and note_id in made:
                note = made[note_id]
                keep_lesson(self.records, note.scope, note.content, verdict.reasons,
                            vectors[[n.id for n in fresh].index(note_id)])  # fmt: skip
        written = iter(outcome.notes)  # in the order of `fresh`, duplicates of it included
        pairs = [known[n.dedupe_key] if n.dedupe_key in known else next(written) for n in batch]
        return _Batch(pairs, outcome, stored)

    def check(self, notes: Sequence[NewNote], vectors: np.ndarray) -> list[Verdict | None]:
        """The guard's verdict on each of NOTES (with ids), to be stored as they are (a
        restore): checked as a write is, against its own signals and its neighbours (the
        stored notes, and the earlier of these); None for each with the guard off."""
        if self.guard_mode == "off" or not notes:
            return [None] * len(notes)
        self.indexes.catch_up()  # earlier batches must be findable as neighbours
        calls = int(self.settings.get("llm_max_calls_per_write"))
        judge = Judge(self.records, self.guard_mode, self.llm, calls)
        near = self.linker.neighbours(notes, vectors)
        return [judge(note, around) for note, around in zip(notes, near)]

    def embedded_ahead(
        self, batches: Iterable[B], texts_of: Callable[[B], list[str]]
    ) -> Iterator[tuple[B, dict[str, np.ndarray]]]:
        """Each batch with its texts' vectors, the next batch's computed while the caller
        works on this one (the model runs outside the GIL; linking is Python)."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mem-embed") as pool:
            it = iter(batches)
            current = next(it, None)
            ahead: Future[dict[str, np.ndarray]] | None = None
            while current is not None:
                following = next(it, None)
                embedded = ahead.result() if ahead is not None else {}
                ahead = (pool.submit(self._embed_unique, texts_of(following))
                         if following is not None else None)  # fmt: skip
                yield current, embedded
                current = following

    def _embed_unique(self, texts: list[str]) -> dict[str, np.ndarray]:
        unique = list(dict.fromkeys(texts))
        return dict(zip(unique, self.embedder.embed(unique))) if unique else {}

    def embed_texts(self, texts: Sequence[str], embedded: dict[str, np.ndarray]) -> np.ndarray:
        """Vectors for texts, taking those already computed (each text is embedded alone,
        so a vector computed ahead is the one computed now)."""
        missing = [t for t in dict.fromkeys(texts) if t not in embedded]
        fresh = dict(zip(missing, self.embedder.embed(missing))) if missing else {}
        if not texts:
            return np.zeros((0, self.embedder.dims), dtype=np.float32)
        return np.stack([embedded[t] if t in embedded else fresh[t] for t in texts])

    def known(self, batch: Sequence[NewNote]) -> set[str | None]:
        """The dedupe keys of these notes that are stored already."""
        return set(self.records.duplicates(batch))

    def forget(self, ids: Sequence[str]) -> list[Note]:
        """Remove notes from the record and every index; unknown ids fail before anything.

        Insights (reflect's notes) derived from a forgotten note quote it, so they go too
        (the next reflect writes them again from what is left).
        """
        self.records.get_many(ids)
        wanted = list(dict.fromkeys(ids))
        # Only reflect's insights go with what they quote: a note a user linked
        # `derived_from` by hand is theirs, and stays.
        derived = [i for i in self.records.derived_from(wanted) if i not in wanted]
        wanted += [n.id for n in self.records.get_many(derived) if n.source == INSIGHT_SOURCE]
        gone = set(wanted)
        retired = {x.dst for x in self.records.adjacent(wanted, ["supersedes"])
                   if x.src in gone and x.dst not in gone}  # fmt: skip
        removed = self.records.delete_notes(wanted)
        self._reinstate(sorted(retired))
        self.indexes.catch_up(force_save=True)
        self.records.checkpoint()
        return removed

    def _reinstate(self, ids: Sequence[str]) -> None:
        """Notes whose every newer version was forgotten are current again."""
        if not ids:
            return
        still = {x.dst for x in self.records.adjacent(ids, ["supersedes"]) if x.dst in ids}
        changes = [Change(n.id, "status", "superseded", "active",
                          "the note that superseded it was forgotten")
                   for n in self.records.get_many([i for i in ids if i not in still])
                   if n.status == "superseded"]  # fmt: skip
        if changes:
            self.records.apply_changes(changes)

    def forget_preview(self, query: str, filters: Filters, k: int = 100_000) -> list[Note]:
        """The notes `forget_matching` would remove, without removing them."""
        return self._matching(query, filters, k)

    def forget_matching(self, query: str, filters: Filters, k: int = 100_000) -> list[Note]:
        """Forget every note that contains all the query's words (`forget --query`), in
        every status: an older version left behind would become the answer again."""
        notes = self._matching(query, filters, k)
        return self.forget([note.id for note in notes]) if notes else []

    def _matching(self, query: str, filters: Filters, k: int) -> list[Note]:
        if not query or not query.strip():
            raise InvalidInput("the query is empty; pass the words the notes to forget contain")
        self.indexes.catch_up()
        filters = replace(filters, statuses=tuple(STATUSES))  # superseded, held: all go
        only, exclude, _, _ = self._restrictions(filters)
        found = self.indexes.text_search(
            query, filters, k, conjunction=True, only=only, exclude=exclude
        )
        notes = self.records.by_labels([label for label, _ in found])
        return [notes[label] for label, _ in found if label in notes]


def _batched(items: Iterable[NewNote], size: int) -> Iterator[list[NewNote]]:
    batch: list[NewNote] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
