"""What the core needs from the canonical record, as one Protocol.

The SQLite record (``store.records.Records``) implements it; a PostgreSQL record can
implement it too. Nothing above ``store/`` names a concrete record: the facade, the
Zettelkasten, the guard and retrieval are typed against ``RecordStore``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

from zettelmem.grants import TokenInfo
from zettelmem.models import (
    Change,
    ConversationVersion,
    Filters,
    Lesson,
    Link,
    NewNote,
    Note,
    Op,
    StoredVerdict,
    WriteOutcome,
)
from zettelmem.store.unfinished import Unfinished


class Dump(Protocol):
    """Exported rows of one consistent read (plain dicts of the stored columns)."""

    def notes(self) -> Iterator[dict[str, Any]]: ...
    def links(self) -> Iterator[dict[str, Any]]: ...
    def changes(self) -> Iterator[dict[str, Any]]: ...
    def verdicts(self) -> Iterator[dict[str, Any]]: ...
    def lessons(self) -> Iterator[dict[str, Any]]: ...
    def forgotten(self) -> Iterator[dict[str, Any]]: ...
    def conversation_versions(self) -> Iterator[dict[str, Any]]: ...


class RecordStore(Protocol):
    """The canonical record: notes, links, history, the ops log, verdicts, lessons.

    Every write is one transaction that also appends to the ops log.
    """

    # -- Lifetime and metadata -------------------------------------------------

    def close(self) -> None: ...

    def usable_in_this_thread(self) -> bool:
        """False when the connection belongs to another thread (SQLite's same-thread rule)."""

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def checkpoint(self) -> None:
        """Fold the WAL into the database file (after forgetting, so no copy lingers)."""

    def stats(self) -> dict[str, object]: ...

    def count(self, scope: str | None = None) -> int: ...

    # -- Notes -----------------------------------------------------------------

    def get(self, note_id: str) -> Note: ...

    def get_many(self, ids: Sequence[str]) -> list[Note]:
        """Notes for ids, in the given order; any unknown id raises NotFound."""

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Up to ``limit`` note ids that start with ``prefix``."""

    def by_labels(self, labels: Sequence[int]) -> dict[int, Note]: ...

    def contents(self, labels: Sequence[int]) -> dict[int, str]:
        """Each note's text by label (cheaper than whole notes for a candidate pool)."""

    def scopes_of(self, labels: Sequence[int]) -> dict[int, str]:
        """Each note's scope by label (the vector index files vectors by scope)."""

    def labels_of(self, ids: Sequence[str]) -> dict[str, int]: ...
    def ids_at(self, labels: Sequence[int]) -> dict[int, str]: ...
    def bulk_writes(self, expected: int) -> AbstractContextManager[None]: ...

    def list_notes(self, scope: str | None, limit: int, offset: int = 0) -> list[Note]: ...

    def iter_notes(self, batch: int = 1000) -> Iterator[tuple[Note, np.ndarray | None]]:
        """Every note with its stored vector, in label order (for rebuilds)."""

    def active_in_thread(self, scope: str, thread: str) -> list[Note]: ...

    def duplicates(self, notes: Sequence[NewNote]) -> dict[str | None, tuple[Note, bool]]:
        """Notes of the batch that are stored already, by dedupe key (as (note, False))."""

    def forgotten_keys(self, notes: Sequence[NewNote]) -> set[str]:
        """The dedupe keys of these notes that belonged to notes since forgotten."""

    def conversation_version(self, scope: str, thread: str) -> str | None:
        """The newest last update of the exports of this conversation imported (None: no
        import said)."""

    def keep_conversation_versions(self, versions: Sequence[ConversationVersion]) -> None:
        """Remember the conversations imported, each as of its export (in one transaction;
        a version older than the one kept changes nothing)."""

    def write(
        self,
        notes: Sequence[NewNote],
        embeddings: np.ndarray,
        links: Sequence[Link] = (),
        changes: Sequence[Change] = (),
        judged: Sequence[StoredVerdict] = (),
    ) -> WriteOutcome:
        """Notes, their links and the changes they cause to others, in one transaction."""

    def delete_notes(self, ids: Sequence[str]) -> list[Note]:
        """Remove notes with their links, tags and history; returns what was removed."""

    def set_embeddings(self, labels: Sequence[int], vectors: np.ndarray) -> None:
        """Replace stored vectors (re-embedding); every changed note goes to the ops log."""

    def vectors(self, labels: Sequence[int]) -> dict[int, np.ndarray]: ...

    def context_vectors(self, labels: Sequence[int]) -> dict[int, np.ndarray]:
        """The vectors the vector index holds: own vector mixed with the notes followed."""

    # -- Filters ---------------------------------------------------------------

    def matching_labels(self, filters: Filters) -> set[int]:
        """Labels of notes that pass the filters (tags, dates, or the few notes a status
        hides: scope alone filters natively in the indexes). ``filters.scopes``, when not
        None, keeps only notes in those scopes (``passing`` too)."""

    def passing(self, labels: Sequence[int], filters: Filters) -> set[int]:
        """The labels among these that pass the filters."""

    def superseded_by(self, moment: str) -> set[int]:
        """Labels of notes a note from no later than ``moment`` supersedes."""

    # -- Links and history -----------------------------------------------------

    def links_of(self, note_id: str) -> list[Link]: ...

    def adjacent(self, ids: Sequence[str], kinds: Sequence[str]) -> list[Link]:
        """Links of these kinds that start or end at one of these notes."""

    def derived_from(self, ids: Sequence[str]) -> list[str]:
        """Ids of the notes (insights) linked `derived_from` any of these notes."""

    def apply_changes(self, changes: Sequence[Change]) -> list[Change]: ...

    def history(self, note_id: str) -> list[Change]: ...

    def revert(self, change_id: str) -> Change: ...

    def all_history_reasons(self) -> list[tuple[str, str]]:
        """(note id, reason) of every change in history (benchmarks audit what changed)."""

    # -- The ops log (derived indexes catch up from it) ------------------------

    def ops_head(self) -> int: ...

    def op_mark(self, seq: int) -> str:
        """What names the op at a sequence ('' for none), so indexes know their record."""
        ...

    def ops_since(self, seq: int, upto: int | None = None) -> list[Op]: ...

    # -- The guard's verdicts and lessons --------------------------------------

    def verdicts_of(self, ids: Sequence[str]) -> dict[str, StoredVerdict]: ...

    def open_verdicts(self, scope: str | None) -> list[StoredVerdict]: ...

    def settle(self, note_id: str, review: str) -> None: ...

    def add_reason(self, note_id: str, reason: str) -> None:
        """One more reason on an unsettled verdict (a replacement it is held for)."""

    def participants(self, scope: str) -> set[str]: ...

    def lessons_near(
        self, scope: str | None, vector: np.ndarray, k: int, min_cos: float
    ) -> list[tuple[Lesson, float]]: ...

    def add_lesson(
        self, scope: str, text: str, signals: Sequence[str], vector: np.ndarray
    ) -> Lesson: ...

    def all_lessons(self, scope: str | None) -> list[Lesson]: ...

    def set_lesson_vectors(self, pairs: Sequence[tuple[str, np.ndarray]]) -> None:
        """Replace lessons' vectors (after the embedder changed)."""

    def held(self, ids: Sequence[str]) -> set[str]:
        """The ids the guard holds: flagged or quarantined, and not approved in review."""

    def lessons_with_text(self, scope: str, text: str) -> list[tuple[str, np.ndarray]]:
        """(id, vector) of the lessons of a scope with exactly this text."""

    def drop_lessons(self, ids: Sequence[str]) -> int:
        """Delete lessons by id; returns how many."""

    # -- Reflect and the graph -------------------------------------------------

    def related_edges(self, scope: str | None, skip_source: str) -> list[tuple[str, str, float]]:
        """`related` links between active notes not written by ``skip_source``."""

    def derived_sources(self, insight_id: str) -> set[str]: ...

    def insight_sharing_most(
        self, scope: str, source: str, context_like: str, exact: bool, members: Sequence[str]
    ) -> tuple[str, int] | None:
        """The active insight (by source and context) derived from most of ``members``."""

    def graph_rows(
        self, scope: str | None
    ) -> tuple[list[tuple[str, str, str, str, str, str]], list[tuple[str, str, str, float]]]:
        """(id, scope, status, content, tags JSON, keywords JSON) of every note and (src,
        dst, kind, weight) of every link."""

    # -- Export and restore ----------------------------------------------------

    def dumped(self, scope: str | None) -> AbstractContextManager[Dump]:
        """Rows of a scope (or all) as they stand in one read transaction."""

    def known_note_rows(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Ids of exported notes stored already (by id, or scope and dedupe key)."""
        ...

    def restore_note_rows(
        self,
        rows: Sequence[dict[str, Any]],
        vectors: np.ndarray,
        judged: Sequence[StoredVerdict] = (),
    ) -> list[tuple[int, str]]:
        """Exported notes, verbatim, with the guard's verdicts on those written (in the
        same transaction: a note is never stored without the verdict that holds it);
        returns (label, id) of the notes written."""
        ...

    def restore_other_rows(
        self,
        links: Sequence[dict[str, Any]],
        changes: Sequence[dict[str, Any]],
        verdicts: Sequence[dict[str, Any]],
    ) -> tuple[int, int]:
        """Links, history and verdicts of a restore, in one transaction."""

    def restore_lesson_rows(
        self, rows: Sequence[dict[str, Any]], vectors: Sequence[np.ndarray]
    ) -> int:
        """Exported lessons with the vectors to keep; returns how many were new."""

    def restore_forgotten_rows(self, rows: Sequence[dict[str, Any]]) -> int:
        """Exported fingerprints of forgotten notes' keys; returns how many were new."""

    def restore_conversation_rows(self, rows: Sequence[dict[str, Any]]) -> int:
        """Exported conversation versions (the newer of two is kept); returns how many
        rows were written."""

    def begin_migration(self, source_key: str, mark: Unfinished) -> None:
        """Mark the record as holding part of a migration from this source (before its
        first write; see store/unfinished.py)."""

    def end_migration(self, source_key: str) -> None:
        """Remove that mark (after the migration's last write)."""

    def unfinished_migrations(self) -> list[Unfinished]:
        """The marks of migrations into this record that have not finished."""

    # -- Access tokens (only their hashes) -------------------------------------

    def add_token(self, name: str, token_hash: str, grants: Sequence[str], created_at: str) -> None:
        """Store a token's hash and grants ('PATTERN:MODE') under a new name; a taken
        name raises InvalidInput."""

    def tokens(self) -> list[TokenInfo]:
        """Every token, by name (never the token: it is not stored)."""

    def token_hashes(self) -> list[tuple[TokenInfo, str]]:
        """Every token with its hash (to move tokens between records; never shown)."""

    def token_by_hash(self, token_hash: str) -> TokenInfo | None: ...

    def revoke_token(self, name: str) -> bool:
        """Delete a token at once; False when no token has that name."""

    def token_used(self, name: str, at: str) -> None:
        """Record when a token was last used (called at most once a minute per token)."""


class TextSearch(Protocol):
    """BM25 over notes: the local tantivy index (TextIndex) or the database's tables."""

    def count(self) -> int: ...

    def idf_reader(self, coming: Sequence[str] = ()) -> Callable[[str], float]: ...

    def search(
        self,
        query: str,
        filters: Filters,
        limit: int,
        conjunction: bool = False,
        ignore: frozenset[str] = frozenset(),
        only: set[int] | None = None,
        exclude: set[int] | None = None,
    ) -> list[tuple[int, float]]: ...


class VectorSearch(Protocol):
    """Cosine search over notes' vectors: the local hnswlib index or pgvector."""

    def __len__(self) -> int: ...

    def count(self, scope: str | None = None) -> int: ...

    def scopes(self) -> list[str]: ...

    def search(
        self,
        query: np.ndarray,
        k: int,
        allowed: set[int] | None = None,
        scope: str | None = None,
        exclude: set[int] | frozenset[int] = frozenset(),
        scopes: Sequence[str] | None = None,
    ) -> list[tuple[int, float]]: ...

    def search_many(
        self,
        queries: np.ndarray,
        k: int,
        scope: str | None = None,
        exclude: set[int] | frozenset[int] = frozenset(),
    ) -> list[list[tuple[int, float]]]:
        """``search`` for each row of ``queries``, within one scope."""
        ...


class SearchIndexes(Protocol):
    """What recall and the linker search: this machine's derived indexes of the record
    (store/derived.py) or, on a database, its own search tables (store/pgsearch.py)."""

    @property
    def text(self) -> TextSearch: ...

    @property
    def vectors(self) -> VectorSearch: ...

    def catch_up(self, force_save: bool = False, text_lag: int = 0) -> None: ...

    def flush(self) -> None: ...

    def rebuild(self) -> None: ...

    def text_search(
        self, query: str, filters: Filters, limit: int, *, windows: bool = False, **options: Any
    ) -> Any: ...
