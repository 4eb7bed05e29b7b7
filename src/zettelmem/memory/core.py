"""The core both front doors call: remember, recall, forget, list, stats, reindex.

It owns write ordering: validate, build derived fields, embed, then one
record transaction (note + ops), then the indexes catch up from the ops log.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from zettelmem.backends.embeddings import Embedder, get_embedder, identity
from zettelmem.backends.llm import LLM, BoundedLLM, get_llm
from zettelmem.config import Settings, load_settings, prepare_home, resolve_home
from zettelmem.errors import EmbedderMismatch, InvalidInput
from zettelmem.guard.judge import Judge, keep_lesson, lessons_for, read_time, stored_verdict
from zettelmem.guard.signals import MODES as GUARD_MODES
from zettelmem.ids import new_id
from zettelmem.models import (
    LINK_KINDS,
    STATUSES,
    Change,
    Filters,
    Hit,
    Lesson,
    Link,
    NewNote,
    Note,
    StoredVerdict,
)
from zettelmem.retrieval import spreading
from zettelmem.retrieval.fusion import fuse, prefer_speakers
from zettelmem.store import verdicts
from zettelmem.store.derived import TEXT_WRITE_LAG, DerivedIndexes
from zettelmem.store.records import Records, WriteOutcome
from zettelmem.text import STOPWORDS, speaker_of
from zettelmem.timeutil import parse_when
from zettelmem.validation import (
    DEFAULT_SCOPE,
    validate_content,
    validate_k,
    validate_scope,
    validate_tag,
)
from zettelmem.zettel import reflect
from zettelmem.zettel.linking import Linker
from zettelmem.zettel.reflect import ReflectResult

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger("zettelmem")
B = TypeVar("B")

# How many candidates each retriever hands to fusion, at least.
CANDIDATES = 50
# Hits beyond k the guard's read-time check sees, so a demoted hit can leave the top k.
READ_EXTRA = 5


@dataclass
class ImportSummary:
    """What a bulk write did."""

    read: int = 0
    added: int = 0
    skipped: int = 0
    ids: list[str] = field(default_factory=list)


class Memory:
    """One home's memory. Not thread-safe; open one per thread or process."""

    def __init__(
        self,
        home: str | Path | None = None,
        embedder: Embedder | str | None = None,
        settings: Settings | None = None,
        reindexing: bool = False,
        llm: LLM | None | bool = None,
        guard: str | None = None,
    ) -> None:
        """``llm``: an LLM to use, False for none (``--no-llm``), None for the configured one.
        ``guard``: off, flag or quarantine for this instance (default: the home's setting)."""
        self.home = prepare_home(resolve_home(home))
        self.settings = settings or load_settings(self.home)
        spec = embedder if embedder is not None else str(self.settings.get("embedder"))
        self.embedder = get_embedder(spec) if isinstance(spec, str) else spec
        self.records = Records(self.home / "notes.db")
        if not reindexing:
            self._check_embedder()
        self.indexes = DerivedIndexes(
            self.home, self.records, self.embedder.dims, identity(self.embedder)
        )
        self._llm_choice = llm
        self._llm: LLM | None = None
        self.linker = Linker(self.records, self.indexes, self.embedder)
        self.last_write: WriteOutcome | None = None
        self._last_query: tuple[str, np.ndarray] | None = None
        self.guard_mode = guard or str(self.settings.get("guard"))
        if self.guard_mode not in GUARD_MODES:
            raise InvalidInput(
                f"unknown guard mode {self.guard_mode!r}; use one of: {', '.join(GUARD_MODES)}"
            )

    def _check_embedder(self) -> None:
        stored = self.records.get_meta("embedder")
        current = identity(self.embedder)
        if stored is None or (stored != current and self.records.count() == 0):
            self.records.set_meta("embedder", current)
        elif stored != current:
            raise EmbedderMismatch(
                f"this home's vectors were made by {stored}, but the embedder is now {current}; "
                "run `mem reindex` to re-embed every note (or switch the embedder back)"
            )

    def close(self) -> None:
        self.indexes.flush()
        self.records.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes -------------------------------------------------------------

    def prepare(
        self,
        content: str,
        *,
        tags: Sequence[str] = (),
        scope: str | None = None,
        source: str = "cli",
        event_at: str | None = None,
        dedupe_key: str | None = None,
    ) -> NewNote:
        """Validate one note's fields and build its derived ones (no I/O)."""
        return self.complete(
            NewNote(
                content=content,
                scope=DEFAULT_SCOPE if scope is None else scope,
                source=source or "cli",
                event_at=parse_when(event_at, "event time") if event_at else None,
                tags=tuple(tags),
                dedupe_key=dedupe_key,
            )
        )

    def complete(self, new: NewNote) -> NewNote:
        """Validate a note from any front door or importer and fill its derived fields."""
        text = validate_content(new.content)
        dedupe_key = new.dedupe_key or (
            "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        )
        return replace(
            new,
            content=text,
            scope=validate_scope(new.scope),
            tags=tuple(dict.fromkeys(validate_tag(t) for t in new.tags)),
            dedupe_key=dedupe_key,
        )

    def remember(self, content: str, **kwargs: object) -> tuple[Note, bool]:
        """Store one note; returns it and whether it was new (False: already stored)."""
        new = self.prepare(content, **kwargs)  # type: ignore[arg-type]
        [(note, created)] = self.store_batch([new], text_lag=TEXT_WRITE_LAG)
        self.indexes.catch_up(text_lag=TEXT_WRITE_LAG)
        return note, created

    def remember_many(self, notes: Iterable[NewNote], batch_size: int = 128) -> ImportSummary:
        """Store prepared notes in batches: one transaction per batch (the next batch is
        embedded meanwhile, in a second thread)."""
        summary = ImportSummary()
        batches = _batched((self.complete(n) for n in notes), batch_size)
        for batch, embedded in self.embedded_ahead(batches, lambda b: [n.content for n in b]):
            summary.read += len(batch)
            for note, created in self.store_batch(batch, embedded):
                if created:
                    summary.added += 1
                    summary.ids.append(note.id)
                else:
                    summary.skipped += 1
        self.indexes.catch_up()
        return summary

    def store_batch(
        self,
        batch: Sequence[NewNote],
        embedded: dict[str, np.ndarray] | None = None,
        text_lag: int = 0,
    ) -> list[tuple[Note, bool]]:
        """One write: plan the Zettelkasten step for the new notes, then one transaction.

        ``embedded``: vectors computed ahead (by text), e.g. while the previous batch
        was written; texts missing from it are embedded here. ``text_lag``: how far
        the BM25 index may lag behind the record meanwhile (see TEXT_WRITE_LAG).
        """
        # Earlier batches must be findable as neighbours.
        self.indexes.catch_up(text_lag=text_lag)
        known = self.records.duplicates(batch)
        fresh = [replace(n, id=n.id or new_id()) for n in batch if n.dedupe_key not in known]
        vectors = self.embed_texts([_embed_text(n) for n in fresh], embedded or {})
        calls = int(self.settings.get("llm_max_calls_per_write"))
        judge = None if self.guard_mode == "off" else Judge(
            self.records, self.guard_mode, self.llm, calls
        )  # fmt: skip
        notes, links, changes, judged = self.linker.plan(fresh, vectors, self.llm, calls, judge)
        stored = [stored_verdict(note_id, v) for note_id, v in judged]
        outcome = self.records.write(notes, vectors, links, changes, stored)
        self.last_write = outcome
        made = {note.id: i for i, (note, created) in enumerate(outcome.notes) if created}
        for note_id, verdict in judged:
            if verdict.verdict == "quarantine" and note_id in made:
                note = outcome.notes[made[note_id]][0]
                keep_lesson(self.records, note.scope, note.content, verdict.reasons,
                            vectors[[n.id for n in fresh].index(note_id)])  # fmt: skip
        written = iter(outcome.notes)  # in the order of `fresh`, duplicates of it included
        return [known[n.dedupe_key] if n.dedupe_key in known else next(written) for n in batch]

    def embedded_ahead(
        self, batches: Iterable[B], texts_of: Callable[[B], list[str]]
    ) -> Iterator[tuple[B, dict[str, np.ndarray]]]:
        """Each batch with its texts' vectors, the next batch's computed while the caller
        works on this one (the model runs outside the GIL; linking is Python)."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mem-embed") as pool:
            it = iter(batches)
            current = next(it, None)
            ahead: Future[dict[str, np.ndarray]] | None = None
            while current is not None:
                following = next(it, None)
                embedded = ahead.result() if ahead is not None else {}
                ahead = (pool.submit(self._embed_unique, texts_of(following))
                         if following is not None else None)  # fmt: skip
                yield current, embedded
                current = following

    def _embed_unique(self, texts: list[str]) -> dict[str, np.ndarray]:
        unique = list(dict.fromkeys(texts))
        return dict(zip(unique, self.embedder.embed(unique))) if unique else {}

    def embed_texts(self, texts: Sequence[str], embedded: dict[str, np.ndarray]) -> np.ndarray:
        """Vectors for texts, taking those already computed (each text is embedded alone,
        so a vector computed ahead is the one computed now)."""
        missing = [t for t in dict.fromkeys(texts) if t not in embedded]
        fresh = dict(zip(missing, self.embedder.embed(missing))) if missing else {}
        if not texts:
            return np.zeros((0, self.embedder.dims), dtype=np.float32)
        return np.stack([embedded[t] if t in embedded else fresh[t] for t in texts])

    def forget(self, ids: Sequence[str]) -> list[Note]:
        """Remove notes from the record and every index; unknown ids fail before anything.

        Insights derived from a forgotten note quote it, so they go too (the next
        reflect writes them again from what is left).
        """
        self.records.get_many(ids)
        wanted = list(dict.fromkeys(ids))
        wanted += [i for i in self.records.derived_from(wanted) if i not in wanted]
        removed = self.records.delete_notes(wanted)
        self.indexes.catch_up(force_save=True)
        self.records.checkpoint()
        return removed

    # -- reads --------------------------------------------------------------

    def get(self, note_id: str) -> Note:
        return self.records.get(note_id)

    def list_notes(self, scope: str | None = None, limit: int = 50, offset: int = 0) -> list[Note]:
        if scope is not None:
            validate_scope(scope)
        if limit < 1:
            raise InvalidInput(f"--limit must be at least 1, got {limit}")
        return self.records.list_notes(scope, limit, offset)

    def stats(self) -> dict[str, object]:
        self.indexes.catch_up()  # a read: the counts include single writes not yet indexed
        out = self.records.stats()
        out["home"] = str(self.home)
        out["embedder"] = identity(self.embedder)
        out["indexed"] = {"text": self.indexes.text.count(), "vectors": len(self.indexes.vectors)}
        return out

    def filters(
        self,
        scope: str | None = None,
        tags: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        include_superseded: bool = False,
        as_of: str | None = None,
        include_quarantined: bool = False,
    ) -> Filters:
        """Validated filters; a date-only ``until`` or ``as_of`` covers that whole day.

        ``as_of`` answers as the memory stood then: notes from after it are
        hidden, and a note superseded only later counts as current.
        """
        until_norm = _end_of_day(until, "--until date")
        moment = _end_of_day(as_of, "--as-of date")
        bounds = [x for x in (until_norm, moment) if x]
        # As of a date, a note superseded only later still counts as current.
        statuses = ("active", "superseded") if include_superseded or moment else ("active",)
        return Filters(
            scope=validate_scope(scope) if scope is not None else None,
            tags=tuple(validate_tag(t) for t in tags),
            since=parse_when(since, "--since date") if since else None,
            until=min(bounds) if bounds else None,
            statuses=statuses + ("quarantined",) if include_quarantined else statuses,
            as_of=moment,
        )

    def recall(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        fusion: str | None = None,
        graph: bool = True,
    ) -> list[Hit]:
        """Hybrid search: BM25 and vectors, filtered and fused, then spread along links."""
        if not query or not query.strip():
            raise InvalidInput("the query is empty; pass some words to search for")
        validate_k(k)
        filters = filters or Filters()
        self.indexes.catch_up()
        want = k if self.guard_mode == "off" else k + READ_EXTRA
        pool = max(CANDIDATES, 3 * want)
        only, exclude, allowed, then = self._restrictions(filters)
        # Question words and fillers ("what", "did", "when") match almost every note.
        bm25 = self.indexes.text.search(
            query, filters, pool, ignore=STOPWORDS, only=only, exclude=exclude
        )
        qvec = self._query_vector(query)
        vec = self.indexes.vectors.search(qvec, pool, allowed, scope=filters.scope, exclude=exclude)
        fused = fuse(bm25, vec, fusion or str(self.settings.get("fusion")))
        texts = self.records.contents([label for label, _ in fused])
        speakers = {label: speaker_of(text) or "" for label, text in texts.items()}
        fused = prefer_speakers(fused, speakers, query)
        if graph:
            ranked = spreading.spread(
                self.records, fused, want,
                lambda labels: self.records.passing(labels, filters) - then,
            )  # fmt: skip
        else:
            ranked = [(label, parts, None) for label, parts in fused[:want]]
        notes = self.records.by_labels([label for label, _, _ in ranked])
        hits = [
            Hit(note=notes[label], score=parts["final"], scores=_parts(parts), via=via)
            for label, parts, via in ranked
            if label in notes
        ]
        return hits if self.guard_mode == "off" else read_time(self.records, hits, k)

    def _restrictions(
        self, filters: Filters
    ) -> tuple[set[int] | None, set[int], set[int] | None, set[int]]:
        """The record's filters as label sets, each looked up once per recall.

        Returns (only, exclude) for the BM25 index (tags, status and as-of are
        mutable, so they never live there), the set the vector search may return
        (None: every live vector of the scope, minus ``exclude``), and the notes
        superseded as of ``as_of``. Scope filters natively in both indexes and
        ``exclude`` holds only the few notes a status hides, so a recall without
        tags or dates costs the same at any store size.
        """
        only = (
            self.records.matching_labels(Filters(tags=filters.tags, statuses=tuple(STATUSES)))
            if filters.tags
            else None
        )
        hidden = tuple(s for s in STATUSES if s not in filters.statuses)
        exclude = self.records.matching_labels(Filters(statuses=hidden)) if hidden else set()
        then = self.records.superseded_by(filters.as_of) if filters.as_of else set()
        exclude |= then
        allowed = None
        if filters.tags or filters.since or filters.until:
            allowed = self.records.matching_labels(filters) - then
        return only, exclude, allowed, then

    def forget_preview(self, query: str, filters: Filters, k: int = 100_000) -> list[Note]:
        """The notes `forget_matching` would remove, without removing them."""
        return self._matching(query, filters, k)

    def _matching(self, query: str, filters: Filters, k: int) -> list[Note]:
        if not query or not query.strip():
            raise InvalidInput("the query is empty; pass the words the notes to forget contain")
        self.indexes.catch_up()
        only, exclude, _, _ = self._restrictions(filters)
        found = self.indexes.text.search(
            query, filters, k, conjunction=True, only=only, exclude=exclude
        )
        notes = self.records.by_labels([label for label, _ in found])
        return [notes[label] for label, _ in found if label in notes]

    def forget_matching(self, query: str, filters: Filters, k: int = 100_000) -> list[Note]:
        """Forget every note that contains all the query's words (`forget --query`)."""
        notes = self._matching(query, filters, k)
        return self.forget([note.id for note in notes]) if notes else []

    # -- the guard ------------------------------------------------------------

    def lessons(self, query: str, scope: str | None = None) -> list[Lesson]:
        """The lessons (from caught poisoning attempts) relevant to a query."""
        return lessons_for(self.records, scope, self._query_vector(query))

    def _query_vector(self, query: str) -> np.ndarray:
        """The query's vector; the last one is kept, since recall and then lessons ask."""
        if self._last_query is None or self._last_query[0] != query:
            self._last_query = (query, self.embedder.embed([query])[0])
        return self._last_query[1]

    def review(self, scope: str | None = None) -> list[tuple[Note, StoredVerdict]]:
        """Flagged and quarantined notes nobody has settled, riskiest first."""
        pending = verdicts.open_verdicts(self.records.db, scope)
        notes = {n.id: n for n in self.records.get_many([v.note_id for v in pending])}
        return [(notes[v.note_id], v) for v in pending if v.note_id in notes]

    def _pending(self, note_id: str) -> tuple[Note, StoredVerdict]:
        note = self.records.get(note_id)
        verdict = verdicts.verdicts_of(self.records.db, [note_id]).get(note_id)
        if verdict is None or verdict.review is not None or verdict.verdict == "accept":
            raise InvalidInput(f"note {note_id} is not awaiting review; see `mem review`")
        return note, verdict

    def approve(self, note_id: str) -> Note:
        """Settle a flagged or quarantined note as genuine: it becomes an ordinary note."""
        note, _ = self._pending(note_id)
        with self.records.transaction() as db:
            verdicts.settle(db, note_id, "approved")
        if note.status == "quarantined":
            self.records.apply_changes([Change(note_id, "status", "quarantined", "active",
                                               "approved in review")])  # fmt: skip
        return self.records.get(note_id)

    def reject(self, note_id: str) -> tuple[Note, Lesson | None]:
        """Settle a note as poison: keep a lesson from it, then forget it."""
        note, verdict = self._pending(note_id)
        vector = self.records.vectors([note.label]).get(note.label)
        if vector is None:
            vector = self.embedder.embed([note.content])[0]
        lesson = keep_lesson(self.records, note.scope, note.content,
                             [*verdict.reasons, "rejected in review"], vector)  # fmt: skip
        self.forget([note_id])
        return note, lesson

    # -- the note graph --------------------------------------------------------

    @property
    def llm(self) -> LLM | None:
        """The LLM for this memory (built on first use), or None offline."""
        if self._llm_choice is False:
            return None
        if self._llm is None:
            choice = self._llm_choice
            self._llm = choice if choice not in (None, True) else get_llm(self.settings)  # type: ignore[assignment]
        return self._llm

    def links(self, note_id: str) -> list[Link]:
        self.records.get(note_id)
        return self.records.links_of(note_id)

    def link(self, src: str, dst: str, kind: str, weight: float = 1.0) -> Link:
        """Link two notes by hand; `supersedes` also marks the older note superseded."""
        if kind not in LINK_KINDS:
            raise InvalidInput(f"unknown link kind {kind!r}; use one of: {', '.join(LINK_KINDS)}")
        if src == dst:
            raise InvalidInput("a note cannot link to itself; pass two different ids")
        if not 0.0 < weight <= 1.0:
            raise InvalidInput(f"link weight must be in (0, 1], got {weight}")
        self.records.get_many([src, dst])
        links = [Link(src, dst, kind, weight)]
        if kind == "related":
            links.append(Link(dst, src, kind, weight))
        changes = []
        if kind == "supersedes":
            changes.append(Change(dst, "status", "active", "superseded", f"superseded by {src}"))
        self.records.write([], np.zeros((0, self.embedder.dims)), links, changes)
        return links[0]

    def history(self, note_id: str) -> list[Change]:
        return self.records.history(note_id)

    def revert(self, change_id: str) -> Change:
        return self.records.revert(change_id)

    def graph(self, scope: str | None = None) -> nx.MultiDiGraph:
        # networkx is imported here, not at start-up: it costs a CLI call ~0.1 s.
        from zettelmem.store.graph import load_graph

        if scope is not None:
            validate_scope(scope)
        return load_graph(self.records, scope)

    def reflect(self, topic: str | None = None, scope: str | None = None) -> ReflectResult:
        """Write (or update) insight notes for clusters of related notes; see reflect.py."""
        if scope is not None:
            validate_scope(scope)
        self.indexes.catch_up()
        result = ReflectResult()
        llm = BoundedLLM(self.llm, reflect.MAX_CLUSTERS) if self.llm else None
        for cluster_scope, members in self._clusters(topic, scope):
            member_ids = [m.id for m in members]
            previous = reflect.previous_insight(self.records, cluster_scope, member_ids, topic)
            if previous and reflect.sources_of(self.records, previous.id) == set(member_ids):
                result.unchanged.append(previous)
                continue
            vectors = self.records.vectors([m.label for m in members])
            title, body = reflect.digest(members, vectors, self.indexes.text.idf)
            title, body = reflect.synthesize(llm, title, body, members)
            note, links, changes = reflect.plan_insight(
                new_id(), body, title, cluster_scope, members, previous, topic
            )
            outcome = self.records.write([note], self.embedder.embed([body]), links, changes)
            stored, created = outcome.notes[0]
            if created:
                (result.updated if previous else result.created).append(stored)
        self.indexes.catch_up()
        return result

    def _clusters(self, topic: str | None, scope: str | None) -> list[tuple[str, list[Note]]]:
        if topic:
            hits = self.recall(topic, k=reflect.MAX_MEMBERS, filters=self.filters(scope=scope),
                               graph=False)  # fmt: skip
            by_scope: dict[str, list[Note]] = {}
            for hit in hits:
                if hit.note.source != reflect.INSIGHT_SOURCE and hit.scores.get("bm25"):
                    by_scope.setdefault(hit.note.scope, []).append(hit.note)
            return [(s, notes) for s, notes in by_scope.items() if len(notes) >= 2]
        out = []
        for ids in reflect.communities(self.records, scope):
            notes = self.records.get_many(ids[: reflect.MAX_MEMBERS])
            out.append((notes[0].scope, notes))
        return out

    # -- maintenance ---------------------------------------------------------

    def reindex(self) -> dict[str, int]:
        """Re-embed if the embedder changed, then rebuild every derived index."""
        stored = self.records.get_meta("embedder")
        current = identity(self.embedder)
        reembedded = 0
        if stored != current:
            reembedded = self._reembed()
            self.records.set_meta("embedder", current)
        self.indexes.rebuild()
        return {"notes": self.records.count(), "reembedded": reembedded}

    def _reembed(self) -> int:
        count = 0
        batch: list[Note] = []
        for note, _ in self.records.iter_notes():
            batch.append(note)
            if len(batch) >= 256:
                count += self._reembed_batch(batch)
                batch = []
        return count + (self._reembed_batch(batch) if batch else 0)

    def _reembed_batch(self, notes: list[Note]) -> int:
        vectors = self.embedder.embed([_embed_text(n) for n in notes])
        self.records.set_embeddings([n.label for n in notes], vectors)
        return len(notes)


def _end_of_day(text: str | None, what: str) -> str | None:
    if not text:
        return None
    moment = parse_when(text, what)
    return moment[:10] + "T23:59:59" if len(text.strip()) == 10 else moment


def _embed_text(note: Note | NewNote) -> str:
    # Content only: it never changes, so evolving tags or context never stales a vector.
    return note.content


def _parts(parts: dict[str, float]) -> dict[str, float]:
    names = ("bm25", "vector", "speaker", "graph", "final")
    return {name: round(parts[name], 6) for name in names if name in parts}


def _batched(items: Iterable[NewNote], size: int) -> Iterator[list[NewNote]]:
    batch: list[NewNote] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
