"""Keeps the derived indexes (BM25, vectors) in step with the record by replaying its ops log.

Each index remembers the last op sequence it applied. Catching up takes a
file lock on the home so that processes sharing it (a running server, CLI
calls) take turns writing the on-disk indexes; reads need no lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from zettelmem.ids import new_id
from zettelmem.models import Filters, Note, Op
from zettelmem.store.records import Records
from zettelmem.store.text_index import TEXT_SCHEMA, WINDOW_BEFORE, CorruptIndex, TextIndex
from zettelmem.store.vector_index import VectorIndex

log = logging.getLogger("zettelmem")

# Save the vector graph once the file on disk lags this many ops behind, or an
# eighth of the index if that is more: a save writes the whole graph, so saving
# in proportion to its size keeps the cost per write flat as the store grows.
# Closing a Memory saves the graph only when the file lags VECTOR_SAVE_LAG ops or
# more: the record keeps every vector, so the next process replays what the file
# lacks (fewer than VECTOR_SAVE_LAG ops, a few milliseconds) instead of every short
# process rewriting the whole graph for its one note (about 1 s at 100,000 notes).
VECTOR_SAVE_LAG = 256
VECTOR_SAVE_SHARE = 8
# Single writes may leave the BM25 index this many ops behind (a tantivy commit
# costs tens of milliseconds at 100k notes, more than the rest of a write); any
# read, bulk write or close catches it up. A note written meanwhile is found as
# a neighbour of the next ones by vector search alone until then.
TEXT_WRITE_LAG = 16


@dataclass
class IndexState:
    """What the on-disk indexes hold: the last op applied to each, and their makers.

    ``identity`` is shared with the record (its meta ``index_identity``) and changes
    on every rebuild; ``text_mark`` and ``vector_mark`` name the op at each
    sequence. A record restored from a backup, or copied back by a sync tool,
    disagrees with one of them, and the indexes are rebuilt instead of answering
    with another copy's labels.
    """

    text_seq: int = 0
    text_schema: str = ""
    vector_seq: int = 0
    embedder: str = ""
    identity: str = ""
    text_mark: str = ""
    vector_mark: str = ""
    vector_digest: str = ""  # sha256 of the saved vector files
    # (size, mtime_ns) of each saved vector file when its digest was last checked: a
    # process that finds the files as they were skips re-reading them (0.14 s at 100k
    # notes, 1.4 s at 1M); any write through the filesystem changes a stamp.
    vector_stamp: list[list[int]] = field(default_factory=list)


IDENTITY_KEY = "index_identity"


def read_state(path: Path) -> IndexState:
    """indexes.json, or an empty state when it is missing or unreadable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return IndexState(**{k: raw[k] for k in asdict(IndexState()) if k in raw})
    except (OSError, ValueError, TypeError, RecursionError):
        return IndexState()


def disagreement(records: Records, state: IndexState) -> str | None:
    """Why indexes in this state were not built from this record, or None."""
    if state.identity and state.identity != records.get_meta(IDENTITY_KEY):
        return "they were built for another copy of the record"
    head = records.ops_head()
    if max(state.text_seq, state.vector_seq) > head:
        return f"they are ahead of the record's ops log (op {head}): was notes.db restored?"
    for seq, mark in ((state.text_seq, state.text_mark), (state.vector_seq, state.vector_mark)):
        if mark and records.op_mark(seq) != mark:
            return f"the record's op {seq} is not the one they applied: was notes.db restored?"
    return None


def cache_ready(home: Path, embedder: str) -> bool:
    """Whether indexes were built in this folder already (for this embedder and text
    schema), so that opening them only replays the ops they lack."""
    state = read_state(home / "indexes.json")
    return (
        state.vector_seq > 0
        and state.text_seq > 0
        and state.text_schema == TEXT_SCHEMA
        and state.embedder == embedder
        and (home / "text" / "meta.json").is_file()
    )


def file_stamp(*paths: Path) -> list[list[int]]:
    """Each file's (size, mtime_ns): cheap evidence that nothing rewrote it."""
    out = []
    for path in paths:
        info = path.stat()
        out.append([info.st_size, info.st_mtime_ns])
    return out


def file_digest(*paths: Path) -> str:
    """sha256 over files' bytes: garbage in a saved index is caught before a C++ loader
    reads it."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class DerivedIndexes:
    """The BM25 and vector indexes of one home, and their catch-up from the ops log."""

    def __init__(
        self, home: Path, records: Records, dims: int, embedder: str, read_only: bool = False
    ) -> None:
        """``read_only``: a home this process may not write (see config.home_is_read_only):
        the indexes are read as they lie, vectors catch up in memory only."""
        self.home = home
        self.read_only = read_only
        self.records = records
        self.dims = dims
        self.embedder = embedder
        self.lock = FileLock(str(home / "index.lock"))
        self.text_dir = home / "text"
        self.vector_path = home / "vectors.hnsw"
        self.state_path = home / "indexes.json"
        self.vector_seq = 0  # last op applied to the in-memory vector index
        self._text_seen = -1  # the text_seq the BM25 searcher was last loaded at
        self.text: TextIndex
        self.vectors: VectorIndex
        if read_only:
            state = self._read_state()
            self.text = TextIndex(self.text_dir)
            self.vectors = self._open_vectors(state)
            return
        with self.lock:
            self._open()

    # -- state file ---------------------------------------------------------

    def _read_state(self) -> IndexState:
        return read_state(self.state_path)

    def vector_files(self) -> tuple[Path, Path]:
        return self.vector_path, VectorIndex.labels_path(self.vector_path)

    def _save_vectors(self, state: IndexState) -> None:
        self.vectors.save(self.vector_path)
        state.vector_digest = file_digest(*self.vector_files())
        state.vector_stamp = file_stamp(*self.vector_files())

    def _write_state(self, state: IndexState, unless: dict[str, object] | None = None) -> None:
        """Replace the state file; ``unless``: the state as read, when the file need not be
        rewritten with the same content (a single write that left both saved indexes as
        they were)."""
        state.identity = self._identity()
        state.text_mark = self.records.op_mark(state.text_seq)
        state.vector_mark = self.records.op_mark(state.vector_seq)
        if unless is not None and asdict(state) == unless:
            return
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state)), encoding="utf-8")
        os.replace(tmp, self.state_path)

    # -- opening ------------------------------------------------------------

    def _identity(self) -> str:
        """The identity the record shares with its indexes (made on first use)."""
        found = self.records.get_meta(IDENTITY_KEY)
        if found is None:
            found = new_id()
            self.records.set_meta(IDENTITY_KEY, found)
        return found

    def disagreement(self, state: IndexState) -> str | None:
        """Why the on-disk indexes were not built from this record, or None."""
        self._identity()
        return disagreement(self.records, state)

    def text_search(self, query: str, filters: Filters, limit: int, *, windows: bool = False,
                    **options: Any) -> Any:  # fmt: skip
        """BM25 search (of notes, or of their windows); a damaged index is rebuilt from the
        record (with a warning) and asked again, so keyword scores never vanish silently."""
        try:
            return self._text_query(query, filters, limit, windows, options)
        except CorruptIndex as exc:
            log.warning("text index in %s is damaged (%s); rebuilding it", self.text_dir, exc)
            with self.lock:
                TextIndex.wipe(self.text_dir)
                self.text = TextIndex(self.text_dir)
                state = self._read_state()
                state.text_seq = self._refill_text()
                self._write_state(state)
            return self._text_query(query, filters, limit, windows, options)

    def _text_query(
        self, query: str, filters: Filters, limit: int, windows: bool, options: dict[str, Any]
    ) -> Any:
        if windows:
            return self.text.search_windows(query, filters, limit, **options)
        return self.text.search(query, filters, limit, **options)

    def _open(self) -> None:
        state = self._read_state()
        problem = self.disagreement(state)
        if problem:
            log.warning("the indexes in %s do not match the record (%s); rebuilding them",
                        self.home, problem)  # fmt: skip
            TextIndex.wipe(self.text_dir)
            state = IndexState()
            self.records.set_meta(IDENTITY_KEY, new_id())
        self.text = self._open_text(state)
        self.vectors = self._open_vectors(state)
        self._write_state(state)

    def _open_text(self, state: IndexState) -> TextIndex:
        if state.text_schema != TEXT_SCHEMA and self.text_dir.exists():
            TextIndex.wipe(self.text_dir)
            state.text_seq = 0
        missing = not (self.text_dir / "meta.json").is_file()
        try:
            text = TextIndex(self.text_dir)
        except CorruptIndex as exc:
            log.warning("text index in %s was unreadable (%s); rebuilding it", self.text_dir, exc)
            TextIndex.wipe(self.text_dir)
            text = TextIndex(self.text_dir)
            state.text_seq = 0
        if missing and state.text_seq > 0:
            # The state says ops were applied, but the index is gone: replay them all.
            log.warning("text index in %s was missing; rebuilding it", self.text_dir)
            state.text_seq = 0
        if state.text_seq == 0 and text.count() > 0:
            with text.writing() as writer:
                writer.clear()
        state.text_schema = TEXT_SCHEMA
        return text

    def _open_vectors(self, state: IndexState) -> VectorIndex:
        if state.embedder == self.embedder and state.vector_seq > 0:
            try:
                self._verify_vector_files(state)
                vectors = VectorIndex.load(self.vector_path, self.dims)
                self.vector_seq = state.vector_seq
                return vectors
            except (OSError, RuntimeError, ValueError) as exc:
                log.warning(
                    "vector index %s was unreadable (%s); rebuilding it", self.vector_path, exc
                )
        self.vector_seq = 0
        state.vector_seq = 0
        state.embedder = self.embedder
        return VectorIndex(self.dims)

    def _verify_vector_files(self, state: IndexState) -> None:
        """Raise ValueError when the saved vector files are not the ones the state
        describes. Files whose stamps match were checked when they were written; others
        (a copied home, a touched file) are read in full and compared by digest."""
        if not state.vector_digest:
            return
        files = self.vector_files()
        stamp = file_stamp(*files)
        if stamp == state.vector_stamp:
            return
        if file_digest(*files) != state.vector_digest:
            raise ValueError("its files changed since they were saved")
        state.vector_stamp = stamp  # the same bytes: remembered for the next start

    # -- catching up --------------------------------------------------------

    def catch_up(self, force_save: bool = False, text_lag: int = 0) -> None:
        """Apply every op the indexes have not seen yet (no-op when up to date).

        ``force_save``: save the vector graph whatever its lag (else when it lags the
        save lag). ``text_lag``: the BM25 index may stay this many ops behind (single
        writes).
        """
        self._catch_up(1 if force_save else None, text_lag)

    def _catch_up(self, save_at: int | None, text_lag: int = 0) -> None:
        """catch_up, saving the vector graph once the file lags ``save_at`` ops (None:
        the save lag)."""
        head = self.records.ops_head()
        state_hint = self._read_state()
        if self.read_only:
            self._catch_up_in_memory(head, state_hint.text_seq)
            return
        if (
            head == self.vector_seq
            and head - state_hint.text_seq <= text_lag
            and (save_at is None or head - state_hint.vector_seq < save_at)
        ):
            self._see_text(state_hint.text_seq)
            return
        with self.lock:
            state = self._read_state()
            found = asdict(state)
            problem = self.disagreement(state)
            if problem:
                log.warning("the indexes in %s do not match the record (%s); rebuilding them",
                            self.home, problem)  # fmt: skip
                self.rebuild()
                return
            if head - state.text_seq > text_lag:
                ops = self.records.ops_since(state.text_seq, head)
                state.text_seq = self._apply_text(ops, head)
                self._text_seen = state.text_seq  # a commit reloads the searcher
            else:
                self._see_text(state.text_seq)
            if self.vector_seq < head:
                if self.vector_seq == 0:
                    self._rebuild_vectors()
                else:
                    self._apply_vectors(self.records.ops_since(self.vector_seq, head))
                self.vector_seq = head
            lag = self.vector_seq - state.vector_seq
            # A graph never saved is saved at once (a process that opens the home would
            # otherwise rebuild it from the whole record).
            if lag > 0 and (state.vector_seq == 0 or lag >= (save_at or self._save_lag())):
                self._save_vectors(state)
                state.vector_seq = self.vector_seq
                state.embedder = self.embedder
            self._write_state(state, unless=found)

    def _catch_up_in_memory(self, head: int, text_seq: int) -> None:
        """A read-only home: vectors replay the ops in memory; the BM25 index on disk
        cannot, so keyword search misses what it lacks (said once)."""
        if self.vector_seq < head:
            if self.vector_seq == 0:
                self._rebuild_vectors()
            else:
                self._apply_vectors(self.records.ops_since(self.vector_seq, head))
            self.vector_seq = head
        if text_seq < head and not getattr(self, "_lag_said", False):
            self._lag_said = True
            log.warning("the keyword index of read-only home %s lacks the last %d changes; "
                        "keyword search misses them", self.home, head - text_seq)  # fmt: skip

    def _see_text(self, seq: int) -> None:
        """Reload the BM25 searcher when another process moved the index on."""
        if seq != self._text_seen:
            self.text.reload()
            self._text_seen = seq

    def _save_lag(self) -> int:
        return max(VECTOR_SAVE_LAG, len(self.vectors) // VECTOR_SAVE_SHARE)

    def flush(self) -> None:
        """Bring the BM25 index up to date, and save the vector index if the copy on disk
        lags VECTOR_SAVE_LAG ops or more behind this process (the next one replays less
        than that from the record)."""
        if self.read_only:
            return
        state = self._read_state()
        if state.vector_seq < self.vector_seq or state.text_seq < self.records.ops_head():
            self._catch_up(VECTOR_SAVE_LAG)

    def _apply_text(self, ops: list[Op], head: int) -> int:
        """Apply ops to the BM25 index; returns the op sequence it now reflects."""
        upserts, _, deletes = self._coalesce(ops)
        if deletes:
            # tantivy keeps deleted documents in its BM25 statistics and term dictionary
            # until a segment merge we cannot trigger from Python: scores would drift from
            # a rebuilt index's (invariant 1) and forgotten words would stay on disk
            # (invariant 4). Forgetting is rare, so refill the index instead.
            return self._refill_text()
        notes = self.records.by_labels(upserts)
        deletes.extend(label for label in upserts if label not in notes)
        with self.text.writing() as writer:
            for label in deletes:
                writer.delete(label)
            present = [notes[label] for label in upserts if label in notes]
            writer.upsert_many(present, self._before(present))
        return head

    def _before(self, notes: list[Note]) -> dict[int, list[Note]]:
        """The turns each note follows (its BM25 window), nearest first."""
        chains = self.records.preceding([n.label for n in notes], WINDOW_BEFORE)
        wanted = {label for chain in chains.values() for label in chain}
        found = self.records.by_labels(list(wanted)) if wanted else {}
        return {
            label: [found[x] for x in chain if x in found]
            for label, chain in chains.items()
            if chain
        }

    def _refill_text(self) -> int:
        """Replace the BM25 index's content with one snapshot of the record; returns its op."""
        with self.records.snapshot():
            head = self.records.ops_head()
            with self.text.writing() as writer:
                writer.clear()
                batch: list[Note] = []
                for note, _ in self.records.iter_notes():
                    batch.append(note)
                    if len(batch) >= 1000:
                        writer.upsert_many(batch, self._before(batch))
                        batch = []
                writer.upsert_many(batch, self._before(batch))
        return head

    def _apply_vectors(self, ops: list[Op]) -> None:
        _, upserts, deletes = self._coalesce(ops)
        vectors = self.records.context_vectors(upserts)
        deletes.extend(label for label in upserts if label not in vectors)
        self.vectors.delete(deletes)
        self._upsert_vectors([label for label in upserts if label in vectors], vectors)

    def _upsert_vectors(self, labels: list[int], vectors: dict[int, np.ndarray]) -> None:
        if labels:
            scopes = self.records.scopes_of(labels)
            labels = [label for label in labels if label in scopes]  # none forgotten meanwhile
            self.vectors.upsert(
                labels, np.stack([vectors[label] for label in labels]),
                [scopes[label] for label in labels],
            )  # fmt: skip

    @staticmethod
    def _coalesce(ops: Iterable[Op]) -> tuple[list[int], list[int], list[int]]:
        """(labels whose text changed, labels whose vector changed, labels deleted).

        Labels are never reused, so a delete is final whatever came before it.
        """
        kinds: dict[int, set[str]] = {}
        for op in ops:
            kinds.setdefault(op.label, set()).add(op.op)
        deletes = [label for label, seen in kinds.items() if "delete" in seen]
        live = {label: seen for label, seen in kinds.items() if "delete" not in seen}
        text = [label for label, seen in live.items() if "upsert" in seen]
        return text, list(live), deletes

    # -- rebuilding ---------------------------------------------------------

    def _rebuild_vectors(self) -> None:
        self.vectors = VectorIndex(self.dims, capacity=max(1024, self.records.count() + 64))
        labels = [note.label for note, _ in self.records.iter_notes()]
        for start in range(0, len(labels), 2048):
            vectors = self.records.context_vectors(labels[start : start + 2048])
            present = [label for label, v in vectors.items() if v.shape[0] == self.dims]
            self._upsert_vectors(present, vectors)

    def rebuild(self) -> None:
        """Drop both indexes and rebuild them from the record (``mem reindex``)."""
        with self.lock:
            self.records.set_meta(IDENTITY_KEY, new_id())
            head = self.records.ops_head()
            TextIndex.wipe(self.text_dir)
            self.text = TextIndex(self.text_dir)
            text_seq = self._refill_text()
            self._rebuild_vectors()
            self.vector_seq = head
            state = IndexState(text_seq=text_seq, text_schema=TEXT_SCHEMA, vector_seq=head,
                               embedder=self.embedder)  # fmt: skip
            self._save_vectors(state)
            self._write_state(state)
