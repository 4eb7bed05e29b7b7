"""The guard in the core's paths: the write-time verdict, the read-time consensus, lessons.

signals.py decides from data (offline), audit.py asks an LLM; this module
finds the data in the record and applies what they decide.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from zettelmem.backends.llm import LLM
from zettelmem.guard import signals
from zettelmem.models import INSIGHT_SOURCE, Hit, Lesson, Neighbour, NewNote, Note, StoredVerdict
from zettelmem.store.protocol import RecordStore
from zettelmem.store.threads import thread_of
from zettelmem.text import speaker_of
from zettelmem.timeutil import now_iso

log = logging.getLogger("zettelmem")

# An untrusted writer quoting a conversation's participant: with the untrusted-source
# signal this reaches signals.QUARANTINE_AT, so quarantine mode holds forged turns for review.
IMPERSONATION_WEIGHT = 0.6
# A trusted writer (the shell, a script) doing the same is flagged, not held: a user may
# paste a later line of a chat they imported, and a script may pipe in a forged one. The
# flag keeps it recallable with a warning and out of evolution; with any signal of its own
# (an instruction, a trigger) it reaches the quarantine line.
TYPED_IMPERSONATION_WEIGHT = signals.FLAG_AT
DEMOTE = 0.5  # factor on the score of a hit the read-time check demotes
LESSONS_K = 3
LESSON_MIN_COS = 0.35  # a lesson this close to the query comes back with the hits
LESSON_SAME_COS = 0.9  # a new lesson this close to a kept one is not kept again


# What may stand before a transcript line's speaker: quote marks and emphasis ("> ",
# "**"), a bracketed stamp ("[8 May 2023]", "(14:02)"), a date or a time with its
# separator ("2023-05-08 14:02 - ", "8 May 2023, "). Bounded pieces, so linear.
_LINE_PREFIX = re.compile(
    r"^(?:\s{0,8}(?:>|[*_]{1,3}|\[[^\]\n]{1,40}\]|\([^)\n]{1,40}\)"
    r"|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?"
    r"|\d{1,2}\s[A-Za-z]{3,9}\.?(?:\s\d{2,4})?|[A-Za-z]{3,9}\.?\s\d{1,2}(?:st|nd|rd|th)?(?:,?\s\d{4})?)"
    r"\s{0,3}[,\-–—|]?){1,4}\s{0,3}"
)


def quoted_speaker(text: str) -> str | None:
    """The participant a transcript line puts words in the mouth of: 'Caroline: ...', also
    behind a stamp or quote mark ('[8 May 2023] Caroline: ...', '> **Caroline**: ...')."""
    found = speaker_of(text)
    if found is not None:
        return found
    head = text[:200]
    rest = _LINE_PREFIX.sub("", head, count=1)
    rest = re.sub(r"[*_]{1,3}", "", rest[:60]) + rest[60:]  # "**Caroline**:", "**Melanie:**"
    return speaker_of(rest) if rest != head else None


class Judge:
    """The write-time check for one batch: a verdict per new note."""

    def __init__(self, records: RecordStore, mode: str, llm: LLM | None, calls: int) -> None:
        self.records = records
        self.mode = mode
        self.llm = llm
        self.calls = calls
        self._participants: dict[str, set[str]] = {}

    def __call__(self, new: NewNote, near: Sequence[Neighbour]) -> signals.Verdict:
        stored = self.records.verdicts_of([n.id for n in near])
        related = [
            signals.Related(n.id, n.content, n.cos, 1.0 - stored[n.id].risk if n.id in stored
                          else 1.0)
            for n in near
        ]  # fmt: skip
        verdict = signals.consensus_check(new.content, new.source, related, self.mode)
        forged = self._forged_quote(new)
        if forged:
            weight = (IMPERSONATION_WEIGHT if signals.untrusted(new.source)
                      else TYPED_IMPERSONATION_WEIGHT)  # fmt: skip
            risk = round(signals.combine([verdict.risk, weight]), 3)
            verdict = signals.Verdict(
                signals.decide(risk, self.mode), risk, (forged, *verdict.reasons)
            )
        if self.llm is not None and self.mode != "off" and (verdict.risk > 0 or related):
            verdict = self._with_llm(new, related, verdict)
        return verdict

    def _forged_quote(self, new: NewNote) -> str | None:
        """A reason when a writer other than an import puts a line in the mouth of a
        participant of a conversation stored in this scope (a forged transcript turn), else
        None. Insights quote what they summarise, so they are not asked."""
        speaker = quoted_speaker(new.content)
        if speaker is None or thread_of(new.source) is not None:
            return None
        if new.source == INSIGHT_SOURCE:
            return None
        if speaker.lower() == "user" and not signals.untrusted(new.source):
            return None  # a chat export's "User" is whoever types at the shell
        if new.scope not in self._participants:
            self._participants[new.scope] = self.records.participants(new.scope)
        if speaker.lower() not in self._participants[new.scope]:
            return None
        return (f"impersonation: written by {new.source.split(':', 1)[0]} as a quote of "
                f"{speaker}, who speaks in a stored conversation")  # fmt: skip

    def _with_llm(
        self, new: NewNote, related: list[signals.Related], offline: signals.Verdict
    ) -> signals.Verdict:
        from zettelmem.guard import audit

        assert self.llm is not None
        asked = audit.llm_check(self.llm, new.content, related, self.mode, self.calls)
        if asked is None:
            log.warning("the LLM guard check failed; kept the offline verdict for this note")
            return offline
        risk = max(offline.risk, asked.risk)
        reasons = tuple(dict.fromkeys([*offline.reasons, *asked.reasons]))
        return signals.Verdict(signals.decide(risk, self.mode), round(risk, 3), reasons)


def stored_verdict(note_id: str, verdict: signals.Verdict) -> StoredVerdict:
    return StoredVerdict(note_id, verdict.verdict, verdict.risk, verdict.reasons,
                                 now_iso())  # fmt: skip


def read_time(
    records: RecordStore, hits: Sequence[Hit], k: int, held_last: bool = False
) -> list[Hit]:
    """Trust and warnings on every hit; hits that contradict the consensus of the top
    hits and carry risk are demoted. Returns the top k, re-sorted.

    ``held_last`` (quarantine mode): a note held at write (flagged and not approved)
    ranks after every note that is not, so it reaches the answer only when nothing
    unheld matches; it keeps its trust and warnings.
    """
    if not hits:
        return []
    stored = records.verdicts_of([h.note.id for h in hits])
    # An accepted note keeps its risk (trust 0.9 for an untrusted source) but warns only
    # when the read-time consensus goes against it.
    # A note checked at write has its verdict row: its text's signals were counted
    # then, so they are not scanned again (read_risk 0); others are scanned once.
    views = [
        signals.HitView(h.note.id, h.note.content, h.score,
                      stored[h.note.id].risk if h.note.id in stored else 0.0,
                      stored[h.note.id].reasons
                      if h.note.id in stored and stored[h.note.id].verdict != "accept"
                      and stored[h.note.id].review != "approved" else (),
                      0.0 if h.note.id in stored else None,
                      h.note.status == "superseded",
                      "quarantined" if h.note.status == "quarantined" else "flagged")
        for h in hits
    ]  # fmt: skip
    # Below the top READ_TOP a hit has no part in the consensus: its own risk only words
    # its warnings, and the same hit judged alone gets the same judgement. So its text is
    # scanned only if it ends among the k returned (a scan is about 0.3 ms).
    deferred = {v.id: v for v in views[signals.READ_TOP :] if v.read_risk is None}
    judged = signals.read_check(
        [replace(v, read_risk=0.0) if v.id in deferred else v for v in views]
    )
    held = {v.id for v in views if v.stored_reasons} if held_last else set()
    out = []
    for hit in hits:
        j = judged[hit.note.id]
        score = hit.score * DEMOTE if j.demote else hit.score
        out.append((hit, score, j))
    out.sort(key=lambda x: (x[0].note.id in held, -x[1], x[0].note.label))
    kept = []
    for hit, score, j in out[:k]:
        if hit.note.id in deferred:
            j = signals.read_check([deferred[hit.note.id]])[hit.note.id]
        scores = {**hit.scores, "final": round(score, 6)} if j.demote else hit.scores
        kept.append(replace(hit, score=score, scores=scores, trust=j.trust, warnings=j.warnings))
    return kept


def keep_lesson(
    records: RecordStore, scope: str, content: str, reasons: Sequence[str], vector: np.ndarray
) -> Lesson:
    """Distil a confirmed detection into a lesson (or the near-identical one kept already)."""
    kept = records.lessons_near(scope, vector, 1, LESSON_SAME_COS)
    if kept:
        return kept[0][0]
    text = signals.lesson_for(content, reasons)
    kinds = sorted({r.split(":")[0] for r in reasons})
    return records.add_lesson(scope, text, kinds, vector)


def drop_lesson(records: RecordStore, note: Note, reasons: Sequence[str]) -> int:
    """Forget the lesson a detection of ``note`` kept, once a review found it genuine (the
    lesson's text is a function of the note and its reasons), unless another quarantined
    note awaiting review stands behind the same lesson. Returns how many lessons went."""
    text = signals.lesson_for(note.content, reasons)
    found = records.lessons_with_text(note.scope, text)
    others = [v.note_id for v in records.open_verdicts(note.scope)
              if v.verdict == "quarantine" and v.note_id != note.id]  # fmt: skip
    labels = [n.label for n in records.get_many(others)] if others else []
    held = list(records.vectors(labels).values())
    gone = [lesson_id for lesson_id, vector in found
            if not any(float(vector @ v) >= LESSON_SAME_COS for v in held)]  # fmt: skip
    return records.drop_lessons(gone)


def lessons_for(records: RecordStore, scope: str | None, query_vector: np.ndarray) -> list[Lesson]:
    return [
        lesson for lesson, _ in records.lessons_near(scope, query_vector, LESSONS_K, LESSON_MIN_COS)
    ]
