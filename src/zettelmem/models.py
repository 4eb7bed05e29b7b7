"""Frozen dataclasses that travel between the layers inside the package."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

# Closed vocabularies: mypy checks them, and the tuples feed CLI choices and MCP enums.
Status = Literal["active", "superseded", "quarantined"]
STATUSES: tuple[Status, ...] = get_args(Status)
Verdict = Literal["accept", "flag", "quarantine"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
GuardMode = Literal["off", "flag", "quarantine"]
GUARD_MODES: tuple[GuardMode, ...] = get_args(GuardMode)
Fusion = Literal["weighted", "rrf"]
FUSIONS: tuple[Fusion, ...] = get_args(Fusion)
# The parts of a hit's score, always all present (0 when a part did not contribute).
SCORE_PARTS = ("bm25", "vector", "window", "speaker", "prior", "graph", "final")
LinkKind = Literal["related", "follows", "supersedes", "derived_from", "mentions"]
INSIGHT_SOURCE = "reflect"  # the source of the insight notes reflect writes
LINK_KINDS: tuple[LinkKind, ...] = get_args(LinkKind)
Review = Literal["approved", "rejected"]
ImportFormat = Literal["chatgpt", "claude", "jsonl", "markdown", "text", "locomo"]
IMPORT_FORMATS: tuple[ImportFormat, ...] = get_args(ImportFormat)
Granularity = Literal["message", "exchange", "session"]
GRANULARITIES: tuple[Granularity, ...] = get_args(Granularity)
ExportFormat = Literal["jsonl", "markdown"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)


@dataclass(frozen=True)
class Note:
    """One memory as the record holds it (see DESIGN.md section 1)."""

    id: str
    content: str
    created_at: str
    event_at: str | None
    scope: str
    source: str
    keywords: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    context: str = ""
    status: str = "active"
    label: int = 0  # integer key shared with the vector index; never reused

    def indexed_text(self) -> str:
        """The text the BM25 index and the embedder see for this note."""
        parts = [self.content]
        if self.context:
            parts.append(self.context)
        return "\n".join(parts)


@dataclass(frozen=True)
class NewNote:
    """What a write asks the record to store (the label is assigned there)."""

    content: str
    scope: str
    source: str
    event_at: str | None = None
    keywords: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    context: str = ""
    dedupe_key: str | None = None
    id: str | None = None  # assigned by the core before the write, so links can name it
    status: str = "active"  # "quarantined" when the guard holds it back


@dataclass(frozen=True)
class Filters:
    """Restrictions every retriever applies before ranking."""

    scope: str | None = None
    tags: tuple[str, ...] = ()
    since: str | None = None  # ISO-8601, inclusive, compared with event_at
    until: str | None = None
    statuses: tuple[str, ...] = ("active",)
    as_of: str | None = None  # the store as it stood then: later notes and supersedings unseen
    # Only notes in one of these scopes (a caller's readable ones); None: any scope.
    scopes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Hit:
    """One ranked result with the parts its score was made of."""

    note: Note
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    via: Link | None = None  # the link that brought a note in through the graph
    trust: float = 1.0  # the guard's confidence in the note, 0-1
    warnings: tuple[str, ...] = ()  # why trust is below 1


@dataclass(frozen=True)
class Link:
    """A typed, weighted edge from one note to another."""

    src: str
    dst: str
    kind: str
    weight: float = 1.0


@dataclass(frozen=True)
class Change:
    """One change to a note's derived field, or to a link weight ('link:<dst>:<kind>')."""

    note_id: str
    field: str
    before: str
    after: str
    reason: str
    change_id: str = ""
    at: str = ""
    reverted_by: str | None = None
    cause: str = ""  # the id of the note whose write planned it, if any


@dataclass(frozen=True)
class Neighbour:
    """A note near the one being written, as the core found it."""

    id: str
    label: int
    cos: float  # own-vector cosine with the new note
    tags: tuple[str, ...]
    context: str = ""
    content: str = ""
    standalone: bool = False  # not a turn of a conversation thread (a fact that can change)
    untrusted: bool = False  # written by a source the guard trusts less (mcp:, web:, ...)


@dataclass(frozen=True)
class ConversationVersion:
    """When a chat export's conversation last changed, in the export an import took it
    from (see store/conversations.py)."""

    scope: str
    thread: str
    updated_at: str  # stored format


@dataclass(frozen=True)
class StoredVerdict:
    """The guard's verdict on a note, as the record keeps it."""

    note_id: str
    verdict: Verdict
    risk: float
    reasons: tuple[str, ...]
    at: str
    review: Review | None = None


@dataclass(frozen=True)
class Lesson:
    """What the guard learned from a confirmed poisoning attempt, kept apart from notes."""

    id: str
    scope: str
    text: str
    signals: tuple[str, ...]
    created_at: str


@dataclass(frozen=True)
class WriteOutcome:
    """What one record write stored: (note, created) pairs, links and changes made."""

    notes: list[tuple[Note, bool]]
    links: list[Link]
    changes: list[Change]


@dataclass(frozen=True)
class Op:
    """One entry of the ops log."""

    seq: int
    op: str
    label: int
    note_id: str


@dataclass(frozen=True)
class WriteResult:
    """One `remember`: the stored note, whether it is new, and what the write did."""

    note: Note
    created: bool  # False: the same text was already stored in that scope
    links: tuple[Link, ...] = ()  # links the note made to other notes
    evolved: tuple[str, ...] = ()  # neighbours whose derived fields it changed
    verdict: StoredVerdict | None = None  # the guard's verdict; None when the guard is off


@dataclass(frozen=True)
class RecallResult:
    """One `recall`: ranked hits and the lessons relevant to the query."""

    query: str
    hits: list[Hit]
    lessons: list[Lesson] = field(default_factory=list)


@dataclass
class ImportSummary:
    """What a bulk write did."""

    read: int = 0
    added: int = 0
    skipped: int = 0
    ids: list[str] = field(default_factory=list)
