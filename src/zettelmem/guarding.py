"""The guard in the core's paths: the write-time verdict, the read-time consensus, lessons.

guard.py decides from data (offline), guard_llm.py asks an LLM; this module
finds the data in the record and applies what they decide.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from zettelmem import guard, zettel
from zettelmem.llm import LLM
from zettelmem.models import Hit, NewNote
from zettelmem.store import guarded
from zettelmem.store.records import Records
from zettelmem.store.threads import thread_of
from zettelmem.timeutil import now_iso

log = logging.getLogger("zettelmem")

# An untrusted writer quoting a conversation's participant: with the untrusted-source
# signal this reaches guard.QUARANTINE_AT, so quarantine mode holds forged turns for review.
IMPERSONATION_WEIGHT = 0.6
DEMOTE = 0.5  # factor on the score of a hit the read-time check demotes
LESSONS_K = 3
LESSON_MIN_COS = 0.35  # a lesson this close to the query comes back with the hits
LESSON_SAME_COS = 0.9  # a new lesson this close to a kept one is not kept again


class Judge:
    """The write-time check for one batch: a verdict per new note."""

    def __init__(self, records: Records, mode: str, llm: LLM | None, calls: int) -> None:
        self.records = records
        self.mode = mode
        self.llm = llm
        self.calls = calls
        self._participants: dict[str, set[str]] = {}

    def __call__(self, new: NewNote, near: Sequence[zettel.Neighbour]) -> guard.Verdict:
        stored = guarded.verdicts_of(self.records.db, [n.id for n in near])
        related = [
            guard.Related(n.id, n.content, n.cos, 1.0 - stored[n.id].risk if n.id in stored
                          else 1.0)
            for n in near
        ]  # fmt: skip
        verdict = guard.consensus_check(new.content, new.source, related, self.mode)
        forged = self._forged_quote(new)
        if forged:
            risk = round(guard.combine([verdict.risk, IMPERSONATION_WEIGHT]), 3)
            verdict = guard.Verdict(guard.decide(risk, self.mode), risk, (forged, *verdict.reasons))
        if self.llm is not None and self.mode != "off" and (verdict.risk > 0 or related):
            verdict = self._with_llm(new, related, verdict)
        return verdict

    def _forged_quote(self, new: NewNote) -> str | None:
        """A reason when an untrusted writer puts a line in the mouth of a participant of
        a conversation stored in this scope (a forged transcript turn), else None."""
        speaker = zettel.speaker_of(new.content)
        if speaker is None or thread_of(new.source) is not None:
            return None
        if not new.source.strip().lower().startswith(guard.UNTRUSTED_SOURCES):
            return None
        if new.scope not in self._participants:
            self._participants[new.scope] = guarded.participants(self.records.db, new.scope)
        if speaker.lower() not in self._participants[new.scope]:
            return None
        return (f"impersonation: written by {new.source.split(':', 1)[0]} as a quote of "
                f"{speaker}, who speaks in a stored conversation")  # fmt: skip

    def _with_llm(
        self, new: NewNote, related: list[guard.Related], offline: guard.Verdict
    ) -> guard.Verdict:
        from zettelmem import guard_llm

        assert self.llm is not None
        asked = guard_llm.llm_check(self.llm, new.content, related, self.mode, self.calls)
        if asked is None:
            log.warning("the LLM guard check failed; kept the offline verdict for this note")
            return offline
        risk = max(offline.risk, asked.risk)
        reasons = tuple(dict.fromkeys([*offline.reasons, *asked.reasons]))
        return guard.Verdict(guard.decide(risk, self.mode), round(risk, 3), reasons)


def stored_verdict(note_id: str, verdict: guard.Verdict) -> guarded.StoredVerdict:
    return guarded.StoredVerdict(note_id, verdict.verdict, verdict.risk, verdict.reasons,
                                 now_iso())  # fmt: skip


def read_time(records: Records, hits: Sequence[Hit], k: int) -> list[Hit]:
    """Trust and warnings on every hit; hits that contradict the consensus of the top
    hits and carry risk are demoted. Returns the top k, re-sorted."""
    if not hits:
        return []
    stored = guarded.verdicts_of(records.db, [h.note.id for h in hits])
    # An accepted note keeps its risk (trust 0.9 for an untrusted source) but warns only
    # when the read-time consensus goes against it.
    # A note checked at write has its verdict row: its text's signals were counted
    # then, so they are not scanned again (read_risk 0); others are scanned once.
    views = [
        guard.HitView(h.note.id, h.note.content, h.score,
                      stored[h.note.id].risk if h.note.id in stored else 0.0,
                      stored[h.note.id].reasons
                      if h.note.id in stored and stored[h.note.id].verdict != "accept" else (),
                      0.0 if h.note.id in stored else None)
        for h in hits
    ]  # fmt: skip
    judged = guard.read_check(views)
    out = []
    for hit in hits:
        j = judged[hit.note.id]
        score = hit.score * DEMOTE if j.demote else hit.score
        scores = {**hit.scores, "final": round(score, 6)} if j.demote else hit.scores
        out.append(replace(hit, score=score, scores=scores, trust=j.trust, warnings=j.warnings))
    out.sort(key=lambda h: (-h.score, h.note.label))
    return out[:k]


def keep_lesson(
    records: Records, scope: str, content: str, reasons: Sequence[str], vector: np.ndarray
) -> guarded.Lesson:
    """Distil a confirmed detection into a lesson (or the near-identical one kept already)."""
    kept = guarded.lessons_near(records.db, scope, vector, 1, LESSON_SAME_COS)
    if kept:
        return kept[0][0]
    text = guard.lesson_for(content, reasons)
    signals = sorted({r.split(":")[0] for r in reasons})
    with records.transaction() as db:
        return guarded.add_lesson(db, scope, text, signals, vector)


def lessons_for(
    records: Records, scope: str | None, query_vector: np.ndarray
) -> list[guarded.Lesson]:
    return [
        lesson
        for lesson, _ in guarded.lessons_near(
            records.db, scope, query_vector, LESSONS_K, LESSON_MIN_COS
        )
    ]
