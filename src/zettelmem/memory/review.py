"""Review: settle what the guard flagged or quarantined (approve, or reject and learn)."""

from __future__ import annotations

import numpy as np

from zettelmem.errors import InvalidInput, NotFound
from zettelmem.guard import signals
from zettelmem.guard.judge import drop_lesson, keep_lesson
from zettelmem.memory.writes import Writes
from zettelmem.models import Change, Lesson, Note, StoredVerdict
from zettelmem.validation import validate_scope
from zettelmem.zettel.construct import supersede


class Review(Writes):
    """review, approve, reject."""

    def review(self, scope: str | None = None) -> list[tuple[Note, StoredVerdict]]:
        """Flagged and quarantined notes nobody has settled, riskiest first."""
        if scope is not None:
            validate_scope(scope)
        pending = self.records.open_verdicts(scope)
        notes = {n.id: n for n in self.records.get_many([v.note_id for v in pending])}
        return [(notes[v.note_id], v) for v in pending if v.note_id in notes]

    def held(self, note_id: str) -> StoredVerdict | None:
        """The guard's verdict on a note it flagged or quarantined and nobody approved."""
        found = self.records.verdicts_of([note_id]).get(note_id)
        if found is None or found.verdict == "accept" or found.review == "approved":
            return None
        return found

    def _pending(self, note_id: str) -> tuple[Note, StoredVerdict]:
        note = self.records.get(note_id)
        verdict = self.records.verdicts_of([note_id]).get(note_id)
        if verdict is None or verdict.review is not None or verdict.verdict == "accept":
            raise InvalidInput(f"note {note_id} is not awaiting review", hint="open_review")
        return note, verdict

    def approve(self, note_id: str) -> Note:
        """Settle a flagged or quarantined note as genuine: it becomes an ordinary note
        for good (full trust, no warnings from its check, no lesson calling it poison)."""
        note, verdict = self._pending(note_id)
        self.records.settle(note_id, "approved")
        drop_lesson(self.records, note, verdict.reasons)
        if note.status == "quarantined":
            self.records.apply_changes([Change(note_id, "status", "quarantined", "active",
                                               "approved in review")])  # fmt: skip
            # Held in quarantine, it made no links at write; approved, it gets the ones an
            # ordinary note makes, so graph recall and reflect reach it as any other.
            vector = self.records.vectors([note.label]).get(note.label)
            if vector is not None:
                self.indexes.catch_up()
                links = self.linker.links_for(note, vector)
                if links:
                    self.records.write([], np.zeros((0, self.embedder.dims)), links, [])
        for old in signals.replaced_notes(verdict.reasons):
            # The replacement it was held for (an untrusted writer's, an edited version),
            # now that it is approved.
            try:
                still = self.records.get(old)
            except NotFound:
                continue
            if still.status == "active":
                links, changes = supersede(note_id, old, "approved in review")
                self.records.write([], np.zeros((0, self.embedder.dims)), links, changes)
        return self.records.get(note_id)

    def hold_replacement(self, note_id: str, old_id: str, why: str) -> None:
        """Record that NOTE_ID, which the guard holds, would replace OLD_ID (WHY: see
        guard/signals.py): OLD_ID stays current while it waits in review, and approving
        it applies the replacement."""
        if self.held(note_id) is not None:
            self.records.add_reason(note_id, signals.replacing(old_id, why))

    def reject(self, note_id: str) -> tuple[Note, Lesson | None]:
        """Settle a note as poison: keep a lesson from it, then forget it."""
        note, verdict = self._pending(note_id)
        vector = self.records.vectors([note.label]).get(note.label)
        if vector is None:
            vector = self.embedder.embed([note.content])[0]
        lesson = keep_lesson(self.records, note.scope, note.content,
                             [*verdict.reasons, "rejected in review"], vector)  # fmt: skip
        self.forget([note_id])
        return note, lesson
