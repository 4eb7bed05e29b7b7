"""What every part of the facade shares: the open home, its record, indexes and backends."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from zettelmem.ids import content_key
from zettelmem.models import GuardMode, NewNote, Note
from zettelmem.validation import (
    validate_content,
    validate_scope,
    validate_source,
    validate_tag,
)

if TYPE_CHECKING:
    from pathlib import Path

    from zettelmem.backends.embeddings import Embedder
    from zettelmem.backends.llm import LLM
    from zettelmem.config import Settings
    from zettelmem.store.protocol import RecordStore, SearchIndexes
    from zettelmem.zettel.linking import Linker


class MemoryBase:
    """State set up by ``Memory.__init__``; the parts below only read it."""

    home: Path
    settings: Settings
    embedder: Embedder
    records: RecordStore
    indexes: SearchIndexes
    linker: Linker
    guard_mode: GuardMode

    @property
    def llm(self) -> LLM | None:  # pragma: no cover - defined by Memory
        raise NotImplementedError

    def complete(self, new: NewNote) -> NewNote:
        """Validate a note from any front door or importer and fill its dedupe key."""
        text = validate_content(new.content)
        dedupe_key = new.dedupe_key or content_key(text, new.event_at)
        return replace(
            new,
            content=text,
            scope=validate_scope(new.scope),
            source=validate_source(new.source),
            tags=tuple(dict.fromkeys(validate_tag(t) for t in new.tags)),
            dedupe_key=dedupe_key,
        )


def embed_text(note: Note | NewNote) -> str:
    # Content only: it never changes, so evolving tags or context never stales a vector.
    return note.content
