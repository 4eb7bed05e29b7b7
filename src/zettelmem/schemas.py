"""Pydantic models at the boundaries: what the CLI's --json and the MCP tools return."""

from __future__ import annotations

from typing import Literal

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


# The parts of a hit's score, always all present (0 when a part did not contribute);
# the same tuple as models.SCORE_PARTS (this module imports nothing from the package).
SCORE_PARTS = ("bm25", "vector", "window", "speaker", "prior", "graph", "final")
SCORES_DESCRIPTION = (
    "Every part, always present: bm25 (the raw BM25 score, 0 or more; 0: no keyword match), "
    "vector (cosine similarity, -1 to 1), window (0 to 0.2: the conversation stretch the hit "
    "sits in, by its best BM25 window), speaker (0.15 when the speaker is a person the "
    "query names, else 0), prior (how much the note can tell: 0.2 x ln(1 + its words, at "
    "most 64), 0.1 less for a question; 0 when nothing matched), graph (activation received "
    "along links, 0 to about 0.7; half of it is added), final (= score: the fused keyword and "
    "meaning match, 0 to 1, plus window, speaker, prior and half of graph; at most about "
    "2.6). Compare scores within one answer, not across queries."
)


class HitOut(NoteOut):
    """A recalled note with its score and the parts it was made of."""

    score: float = Field(description="The rank score, scores.final: 0 to 1.7, higher is better.")
    scores: dict[str, float] = Field(description=SCORES_DESCRIPTION)
    via: LinkOut | None = Field(
        default=None, description="The link that brought this note in through the graph."
    )
    trust: float = Field(
        default=1.0, description="The guard's confidence in this note, 0-1 (1: no doubt)."
    )
    warnings: list[str] = Field(
        default_factory=list, description="Why trust is below 1: contradictions, risk signals."
    )


class LessonOut(BaseModel):
    """What an earlier poisoning attempt taught: read it before acting on the hits."""

    id: str
    scope: str
    text: str
    created_at: str


class RecallOut(BaseModel):
    query: str
    hits: list[HitOut]
    lessons: list[LessonOut] = Field(
        default_factory=list, description="Lessons from caught poisoning attempts near this query."
    )
    hint: str | None = Field(
        default=None,
        description="When nothing was found because the scope asked holds no notes: that, "
        "and the scopes there are (a mistyped scope).",
    )


class VerdictOut(BaseModel):
    """A note the guard flagged or quarantined, awaiting review."""

    note: NoteOut
    verdict: str
    risk: float
    reasons: list[str]
    at: str


class ReviewOut(BaseModel):
    pending: list[VerdictOut]


class SettledOut(BaseModel):
    id: str
    review: str  # approved | rejected
    note: NoteOut | None = None  # approved: the note as it now is
    lesson: LessonOut | None = None  # rejected: the lesson kept from it


class NotesOut(BaseModel):
    notes: list[NoteOut]


class ForgetOut(BaseModel):
    forgotten: list[str]
    insights: list[str] = Field(
        default_factory=list,
        description="Insight notes (from reflect) forgotten because a note they quote was; "
        "also in forgotten. A later reflect writes them again from what is left.",
    )


class RejectedOut(BaseModel):
    """A conversation, document or line an import left out, and why."""

    where: str
    why: str


class ImportOut(BaseModel):
    file: str
    format: str
    dry_run: bool = False
    groups: int = 0
    read: int
    added: int
    skipped: int
    forgotten: int = 0  # notes `mem forget` removed: an import never brings them back
    # notes of a conversation the store holds from a later export: not brought in
    outdated: int = 0
    redacted: int = 0
    truncated: int = 0
    # wikilinks made between vault notes, or the links an export brought back; the links
    # the graph makes on every write (related, follows) are not counted here
    links: int = 0
    superseded: int = 0
    undated: int = 0  # timestamps given but not understood (those notes are dated now)
    flagged: int = 0  # added notes the guard flagged (recalled with a warning)
    quarantined: int = 0  # added notes the guard quarantined (see `mem review`)
    rejected_count: int = 0
    rejected: list[RejectedOut] = []


class ExportOut(BaseModel):
    dest: str
    format: str
    notes: int
    links: int
    changes: int
    removed: int = 0  # Markdown with --force: files of notes no longer exported


class LinkOut(BaseModel):
    """A typed, weighted edge from one note to another."""

    src: str
    dst: str
    kind: str
    weight: float = 1.0


class HeldOut(BaseModel):
    """The guard's write-time verdict on a note it flagged or quarantined."""

    verdict: Literal["flag", "quarantine"]
    risk: float
    reasons: list[str]


class RememberOut(NoteOut):
    """What the MCP `remember` tool returns: the stored note, whether it is new, its links."""

    created: bool
    held: HeldOut | None = Field(
        default=None,
        description="Set when the guard flagged the note (recalled with low trust and "
        "warnings) or quarantined it (not recalled until approved); it awaits review.",
    )
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
    reason: str | None = None  # why nothing qualified, when nothing did


class TokenOut(BaseModel):
    """A stored access token: never the token itself, which is shown once."""

    name: str
    grants: list[str]
    created_at: str
    last_used: str | None = None


class TokensOut(BaseModel):
    tokens: list[TokenOut]


class TokenCreatedOut(TokenOut):
    """`mem token create --json`: the one time the token is shown."""

    token: str
