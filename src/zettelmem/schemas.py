"""Pydantic models at the boundaries: what the CLI's --json and the MCP tools return."""

from __future__ import annotations

from pydantic import BaseModel, Field


class NoteOut(BaseModel):
    """A note as the outside world sees it."""

    id: str
    content: str
    scope: str
    source: str
    created_at: str
    event_at: str | None = None
    keywords: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    context: str = ""
    status: str = "active"


class HitOut(NoteOut):
    """A recalled note with its score and the parts it was made of."""

    score: float
    scores: dict[str, float]


class RecallOut(BaseModel):
    query: str
    hits: list[HitOut]


class NotesOut(BaseModel):
    notes: list[NoteOut]


class ForgetOut(BaseModel):
    forgotten: list[str]


class ImportOut(BaseModel):
    file: str
    format: str
    read: int
    added: int
    skipped: int


class LinkOut(BaseModel):
    """A typed, weighted edge from one note to another."""

    src: str
    dst: str
    kind: str
    weight: float = 1.0


class RememberOut(NoteOut):
    """What the MCP `remember` tool returns: the stored note, whether it is new, its links."""

    created: bool
    links: list[LinkOut] = Field(default_factory=list)
