"""Turning core objects into boundary models and human text (shared by CLI and server)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from zettelmem.models import (
    SCORE_PARTS,
    Change,
    Hit,
    Lesson,
    Link,
    Note,
    RecallResult,
    StoredVerdict,
)

# The boundary models (pydantic, ~0.3 s to import) load only when one is built: a
# command that prints lines (`mem recall`) never pays for them.
if TYPE_CHECKING:
    from zettelmem.schemas import (
        ChangeOut,
        ForgetOut,
        HeldOut,
        HitOut,
        LessonOut,
        LinkOut,
        NoteOut,
        RecallOut,
        VerdictOut,
    )


def note_out(note: Note) -> NoteOut:
    from zettelmem.schemas import NoteOut

    return NoteOut(
        id=note.id,
        content=note.content,
        scope=note.scope,
        source=note.source,
        created_at=note.created_at,
        event_at=note.event_at,
        keywords=list(note.keywords),
        tags=list(note.tags),
        context=note.context,
        status=note.status,
    )


def link_out(link: Link) -> LinkOut:
    from zettelmem.schemas import LinkOut

    return LinkOut(src=link.src, dst=link.dst, kind=link.kind, weight=round(link.weight, 6))


def change_out(change: Change) -> ChangeOut:
    from zettelmem.schemas import ChangeOut

    return ChangeOut(
        change_id=change.change_id, note_id=change.note_id, field=change.field,
        before=change.before, after=change.after, reason=change.reason, at=change.at,
        reverted_by=change.reverted_by,
    )  # fmt: skip


def hit_out(hit: Hit) -> HitOut:
    from zettelmem.schemas import HitOut

    return HitOut(
        **note_out(hit.note).model_dump(),
        score=round(hit.score, 6),
        scores={part: round(hit.scores.get(part, 0.0), 6) for part in SCORE_PARTS},
        via=link_out(hit.via) if hit.via else None,
        trust=round(hit.trust, 3),
        warnings=list(hit.warnings),
    )


def forget_out(removed: Sequence[Note], asked: Sequence[str]) -> ForgetOut:
    """Every id removed; `insights`: the insight notes that went because a source went."""
    from zettelmem.schemas import ForgetOut

    wanted = set(asked)
    return ForgetOut(forgotten=[n.id for n in removed],
                     insights=[n.id for n in removed if n.id not in wanted])  # fmt: skip


def lesson_out(lesson: Lesson) -> LessonOut:
    from zettelmem.schemas import LessonOut

    return LessonOut(id=lesson.id, scope=lesson.scope, text=lesson.text,
                     created_at=lesson.created_at)  # fmt: skip


def held_out(verdict: StoredVerdict | None) -> HeldOut | None:
    from zettelmem.schemas import HeldOut

    if verdict is None or verdict.verdict == "accept":
        return None
    return HeldOut(verdict=verdict.verdict, risk=verdict.risk, reasons=list(verdict.reasons))


def held_line(note_id: str, verdict: StoredVerdict) -> str:
    """What a writer is told of a note the guard held: what happened, why, what next."""
    what = ("quarantined: it is not recalled until approved" if verdict.verdict == "quarantine"
            else "flagged: it is recalled with low trust and a warning")  # fmt: skip
    why = "; ".join(verdict.reasons[:2])
    return (
        f"guard {what} (risk {verdict.risk:.2f}: {why}); review it with `mem review`, "
        f"then `mem review approve {note_id}` or `mem review reject {note_id}`"
    )


def verdict_out(note: Note, verdict: StoredVerdict) -> VerdictOut:
    from zettelmem.schemas import VerdictOut

    return VerdictOut(note=note_out(note), verdict=verdict.verdict, risk=verdict.risk,
                      reasons=list(verdict.reasons), at=verdict.at)  # fmt: skip


def note_line(note: Note, width: int = 100) -> str:
    """One line for lists: id, when, scope, the status when not active (a quarantined or
    superseded note is never shown as if it were current), the start of the content."""
    when = (note.event_at or note.created_at)[:10]
    text = " ".join(note.content.split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    status = f"({note.status})  " if note.status != "active" else ""
    return f"{note.id}  {when}  [{note.scope}]  {status}{text}"


def note_block(note: Note) -> str:
    """Every field of a note, for `mem show`."""
    rows = [
        ("id", note.id),
        ("scope", note.scope),
        ("source", note.source),
        ("status", note.status),
        ("created", note.created_at),
        ("event", note.event_at or "-"),
        ("tags", ", ".join(note.tags) or "-"),
        ("keywords", ", ".join(note.keywords) or "-"),
        ("context", note.context or "-"),
    ]
    head = "\n".join(f"{name:>9}: {value}" for name, value in rows)
    return f"{head}\n\n{note.content}"


def recall_out(result: RecallResult, hint: str | None = None) -> RecallOut:
    """One recall, as both front doors print it (`--json`) or return it (MCP); ``hint``
    says why nothing was found when the scope asked holds no notes (`scope_missing`)."""
    from zettelmem.schemas import RecallOut

    return RecallOut(query=result.query, hits=[hit_out(h) for h in result.hits],
                     lessons=[lesson_out(x) for x in result.lessons], hint=hint)  # fmt: skip


def scope_missing(scope: str, scopes: Collection[str]) -> str | None:
    """A mistyped ``--scope`` finds nothing: the line saying so and naming the scopes there
    are, or None when SCOPE holds notes, is "*" (every scope), or the memory holds none."""
    if not scopes or scope in scopes or scope == "*":
        return None
    named = sorted(scopes)
    listed = ", ".join(named[:10]) + (", ..." if len(named) > 10 else "")
    return f"no notes in scope {scope!r}; the scopes are: {listed}"


def memory_empty(where: object | None = None) -> str:
    """What a read that finds nothing says when the memory holds no notes at all: that,
    and how to add some (``where``: the home, when the door names it)."""
    place = f" in {where}" if where is not None else ""
    return f"the memory{place} is empty; add notes with `mem remember TEXT` or `mem import FILE`"


def note_label(note: Note, width: int = 40) -> str:
    """A short title for a graph node: the first line of the content, cut at a word."""
    first = " ".join(note.content.strip().splitlines()[0].split()) if note.content.strip() else ""
    if len(first) <= width:
        return first
    cut = first[: width - 1].rsplit(" ", 1)[0] if " " in first[: width - 1] else first[: width - 1]
    return cut.rstrip(" ,;:.") + "…"
