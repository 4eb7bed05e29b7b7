"""Turning core objects into boundary models and human text (shared by CLI and server)."""

from __future__ import annotations

from zettelmem.models import Change, Hit, Lesson, Link, Note, StoredVerdict
from zettelmem.schemas import ChangeOut, HitOut, LessonOut, LinkOut, NoteOut, VerdictOut


def note_out(note: Note) -> NoteOut:
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
    return LinkOut(src=link.src, dst=link.dst, kind=link.kind, weight=round(link.weight, 6))


def change_out(change: Change) -> ChangeOut:
    return ChangeOut(
        change_id=change.change_id, note_id=change.note_id, field=change.field,
        before=change.before, after=change.after, reason=change.reason, at=change.at,
        reverted_by=change.reverted_by,
    )  # fmt: skip


def hit_out(hit: Hit) -> HitOut:
    return HitOut(
        **note_out(hit.note).model_dump(),
        score=round(hit.score, 6),
        scores=hit.scores,
        via=link_out(hit.via) if hit.via else None,
        trust=round(hit.trust, 3),
        warnings=list(hit.warnings),
    )


def lesson_out(lesson: Lesson) -> LessonOut:
    return LessonOut(id=lesson.id, scope=lesson.scope, text=lesson.text,
                     created_at=lesson.created_at)  # fmt: skip


def verdict_out(note: Note, verdict: StoredVerdict) -> VerdictOut:
    return VerdictOut(note=note_out(note), verdict=verdict.verdict, risk=verdict.risk,
                      reasons=list(verdict.reasons), at=verdict.at)  # fmt: skip


def note_line(note: Note, width: int = 100) -> str:
    """One line for lists: id, when, scope, the start of the content."""
    when = (note.event_at or note.created_at)[:10]
    text = " ".join(note.content.split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    return f"{note.id}  {when}  [{note.scope}]  {text}"


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


def note_label(note: Note, width: int = 40) -> str:
    """A short title for a graph node: the first line of the content, cut at a word."""
    first = " ".join(note.content.strip().splitlines()[0].split()) if note.content.strip() else ""
    if len(first) <= width:
        return first
    cut = first[: width - 1].rsplit(" ", 1)[0] if " " in first[: width - 1] else first[: width - 1]
    return cut.rstrip(" ,;:.") + "…"


def graph_node_fields(note: Note, *, flat: bool) -> dict[str, object]:
    """What a graph export adds to a note's node: a label, its tags and keywords
    (``flat``: joined with ", " for formats that hold only scalars, like GraphML)."""
    tags, keywords = list(note.tags), list(note.keywords)
    if flat:
        return {"label": note_label(note), "tags": ", ".join(tags), "keywords": ", ".join(keywords)}
    return {"label": note_label(note), "tags": tags, "keywords": keywords}
