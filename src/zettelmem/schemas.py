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
    via: LinkOut | None = Field(
        default=None, description="The link that brought this note in through the graph."
    )


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
    evolved: list[str] = Field(
        default_factory=list, description="Ids of neighbours whose tags this note evolved."
    )


class LinksOut(BaseModel):
    id: str
    links: list[LinkOut]


class ChangeOut(BaseModel):
    """One logged change to a note's derived field (or a link weight)."""

    change_id: str
    note_id: str
    field: str
    before: str
    after: str
    reason: str
    at: str
    reverted_by: str | None = None


class HistoryOut(BaseModel):
    id: str
    changes: list[ChangeOut]


class ReflectOut(BaseModel):
    """What reflect did: insight notes created, new versions written, clusters unchanged."""

    created: list[NoteOut]
    updated: list[NoteOut]
    unchanged: list[str]
