"""Note construction with an LLM: one structured call per note builds its keywords, tags
and context, and names the neighbours it updates. Any failure falls back to construct.py."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from pydantic import BaseModel, Field

from zettelmem.backends.llm import LLM
from zettelmem.errors import LLMError
from zettelmem.models import Change, Neighbour
from zettelmem.zettel import construct

log = logging.getLogger("zettelmem")

_TAG_CHARS = re.compile(r"[^\w.:/+-]+")

SYSTEM = (
    "You index an AI agent's long-term memory as a Zettelkasten. For the new note, write "
    "its key phrases, a few topic tags and a one-line context (who, when, what), and say "
    "which of the numbered neighbouring notes it updates, that is states a newer value of "
    "the same fact. When the new note makes a neighbour clearer (who 'she' is, how a plan "
    "turned out), you may rewrite that neighbour's one-line context; never its content. "
    "Only use what the notes say."
)


class NeighbourContext(BaseModel):
    """A neighbour's context, rewritten in the light of the new note."""

    number: int = Field(description="The neighbouring note's number")
    context: str = Field(max_length=300, description="Its new one-line context")


class NoteFields(BaseModel):
    """What the LLM returns for one note."""

    keywords: list[str] = Field(max_length=8, description="Key phrases, most important first")
    tags: list[str] = Field(max_length=6, description="Short lowercase topic tags")
    context: str = Field(max_length=300, description="One line: who, when, what")
    supersedes: list[int] = Field(
        default_factory=list,
        description="Numbers of neighbouring notes whose fact this note replaces (often none)",
    )
    neighbour_contexts: list[NeighbourContext] = Field(
        default_factory=list,
        max_length=3,
        description="Neighbours whose one-line context the new note makes clearer (often none)",
    )


def clean_tag(tag: str) -> str:
    """An LLM's tag in the tag alphabet: lowercase, spaces to dashes, 64 characters at most."""
    text = _TAG_CHARS.sub("-", tag.strip().lower()).strip("-._:/+")
    return text[:64]


def ask(
    llm: LLM,
    text: str,
    event_at: str | None,
    neighbours: Sequence[Neighbour],
    neighbour_texts: Sequence[str],
) -> NoteFields | None:
    """The LLM's fields for a note, or None (with a warning) when the call fails."""
    listing = "\n".join(f"{i}. {t}" for i, t in enumerate(neighbour_texts, 1)) or "(none)"
    prompt = (
        f"New note (happened {event_at or 'at an unknown time'}):\n{text}\n\n"
        f"Neighbouring notes:\n{listing}"
    )
    try:
        fields = llm.structured(SYSTEM, prompt, NoteFields)
    except LLMError as exc:
        log.warning("LLM note construction failed (%s); using the offline construction", exc)
        return None
    fields.tags = [t for t in (clean_tag(t) for t in fields.tags) if t]
    fields.keywords = [k.strip().lower() for k in fields.keywords if k.strip()]
    fields.context = " ".join(fields.context.split())
    fields.supersedes = [i for i in fields.supersedes if 1 <= i <= len(neighbours)]
    fields.neighbour_contexts = [
        NeighbourContext(number=c.number, context=" ".join(c.context.split()))
        for c in fields.neighbour_contexts
        if 1 <= c.number <= len(neighbours) and c.context.strip()
    ]
    return fields


def context_changes(
    note_id: str, fields: NoteFields, neighbours: Sequence[Neighbour]
) -> list[Change]:
    """The neighbours' contexts the LLM rewrote, as changes (at most MAX_EVOLVED)."""
    out: list[Change] = []
    for item in fields.neighbour_contexts[: construct.MAX_EVOLVED]:
        n = neighbours[item.number - 1]
        if item.context != n.context and n.id != note_id:
            reason = f"evolved by {note_id}: context rewritten by the LLM"
            out.append(Change(n.id, "context", n.context, item.context, reason, cause=note_id))
    return out
