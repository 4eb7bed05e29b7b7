"""Reads: recall (hybrid search, fusion, graph spreading, the guard's read check, lessons),
filters, and plain lookups."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from zettelmem import workers
from zettelmem.backends.embeddings import identity
from zettelmem.errors import InvalidInput, NotFound
from zettelmem.guard.judge import lessons_for, read_time
from zettelmem.ids import ID_LENGTH
from zettelmem.memory.base import MemoryBase
from zettelmem.models import (
    FUSIONS,
    SCORE_PARTS,
    STATUSES,
    Filters,
    Hit,
    Lesson,
    Note,
    RecallResult,
)
from zettelmem.retrieval import spreading
from zettelmem.retrieval.fusion import (
    bm25_reference,
    fuse,
    prefer_informative,
    prefer_speakers,
)
from zettelmem.retrieval.weights import DEFAULT as DEFAULT_WEIGHTS
from zettelmem.retrieval.weights import Weights
from zettelmem.retrieval.windows import Windowed, add_stage, combine
from zettelmem.text import STOPWORDS, speaker_of
from zettelmem.timeutil import parse_when
from zettelmem.validation import (
    validate_choice,
    validate_k,
    validate_limit,
    validate_scope,
    validate_tag,
)

# How many candidates each retriever hands to fusion, at least. 75: what a recall of k=20
# gets (3 x (k + READ_EXTRA)) and what `mem bench locomo --folds` cross-validates. The
# informativeness prior lifts long turns that fusion alone ranked 50th to 75th: at 50,
# LoCoMo dev R@10 at k=10 is 0.797, at 75 0.806, at 100 0.803; it costs a recall at
# 100k notes about 2.5 ms at the median (7.1 -> 9.6 ms).
CANDIDATES = 75
# Hits beyond k the guard's read-time check sees, so a demoted hit can leave the top k.
READ_EXTRA = 5
# Query vectors kept per memory (1,024 x 384 floats: 1.5 MB; with mpnet 3 MB).
QUERY_VECTORS = 1024
# A shorter id is taken as a prefix of at least this many characters (as in git).
MIN_PREFIX = 4


def _embedding_pool() -> ThreadPoolExecutor:
    """The threads that embed a query, and then search its vectors, while the keyword side
    runs (two: a recall's search waits only on the embedding queued before it)."""
    return workers.pool("embed", 2)


class Reads(MemoryBase):
    """recall, filters, get, list_notes, stats, lessons."""

    @functools.cached_property
    def _query_vectors(self) -> dict[str, np.ndarray]:
        return {}

    def get(self, note_id: str) -> Note:
        return self.records.get(note_id)

    def resolve_id(self, given: str) -> str:
        """The id a unique prefix of at least MIN_PREFIX characters names (as in git)."""
        text = given.strip().lower()
        if len(text) >= ID_LENGTH:
            return given
        if len(text) < MIN_PREFIX:
            try:
                return self.records.get(given).id
            except NotFound:
                raise NotFound(f"no note with id {given!r} (a prefix needs at least "
                               f"{MIN_PREFIX} characters)", hint="find_ids") from None  # fmt: skip
        found = self.records.ids_with_prefix(text, limit=4)
        if len(found) == 1:
            return found[0]
        if found:
            # Ids begin with their time, so notes written together share long prefixes.
            shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
            raise InvalidInput(f"id prefix {given!r} is ambiguous ({shown}); give more "
                               "characters, or the whole id")  # fmt: skip
        raise NotFound(f"no note with id {given!r}", hint="find_ids")

    def list_notes(self, scope: str | None = None, limit: int = 50, offset: int = 0) -> list[Note]:
        if scope is not None:
            validate_scope(scope)
        return self.records.list_notes(scope, validate_limit(limit), offset)

    def scopes(self) -> list[str]:
        """Every scope that holds a note: read off the caught-up vector index, which files
        every note's vector by scope, so no scan of the record."""
        self.indexes.catch_up()
        return self.indexes.vectors.scopes()

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
        until_norm = _end_of_day(until, "until")
        moment = _end_of_day(as_of, "as_of")
        start = parse_when(since, "since") if since else None
        if start and until_norm and start > until_norm:
            raise InvalidInput(f"since {since} is after until {until}, so nothing could "
                               "match; swap them")  # fmt: skip
        bounds = [x for x in (until_norm, moment) if x]
        # As of a date, a note superseded only later still counts as current.
        statuses = ("active", "superseded") if include_superseded or moment else ("active",)
        return Filters(
            scope=validate_scope(scope) if scope is not None else None,
            tags=tuple(validate_tag(t) for t in tags),
            since=start,
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
        weights: Weights | None = None,
    ) -> RecallResult:
        """Ranked hits for a query, and the lessons (caught poisoning attempts) it touches.
        ``weights``: the ranking's free parameters (benchmarks vary them)."""
        filters = filters or Filters()
        hits = self._search(query, k, filters, fusion, graph, weights)
        lessons = [] if self.guard_mode == "off" else self.lessons(query, filters.scope)
        if filters.scopes is not None:
            lessons = [x for x in lessons if x.scope in filters.scopes]
        return RecallResult(query, hits, lessons)

    def _search(
        self,
        query: str,
        k: int,
        filters: Filters,
        fusion: str | None,
        graph: bool,
        weights: Weights | None = None,
    ) -> list[Hit]:
        """Hybrid search: BM25 (with conversation windows) and vectors, filtered and fused,
        then spread along links."""
        if not query or not query.strip():
            raise InvalidInput("the query is empty; pass some words to search for")
        validate_k(k)
        if filters.scopes == ():
            return []  # a caller who may read no scope finds nothing
        query_vector = self._query_vector_soon(query)
        self.indexes.catch_up()
        want = k if self.guard_mode == "off" else k + READ_EXTRA
        pool = max(CANDIDATES, 3 * want)
        only, exclude, allowed, then = self._restrictions(filters)
        weights = weights or DEFAULT_WEIGHTS
        # The vector search follows the embedding in the other thread (hnswlib and numpy
        # release the interpreter while they search) while this one runs the keyword side.
        vectors = self.indexes.vectors

        def nearest() -> list[tuple[int, float]]:
            return vectors.search(query_vector(), pool, allowed, scope=filters.scope,
                                  exclude=exclude, scopes=filters.scopes)  # fmt: skip

        vec_soon = _embedding_pool().submit(nearest).result
        windowed = self._windowed(query, filters, pool, weights, (only, exclude, then))
        vec = vec_soon()
        method = validate_choice(fusion or str(self.settings.get("fusion")), FUSIONS, "fusion")
        ref = bm25_reference(query, self.indexes.text.idf_reader(), STOPWORDS)
        fused = fuse(windowed.bm25[:pool], vec, method, weights.bm25, bm25_ref=ref)
        fused = add_stage(fused, windowed.stage, weights.stage)
        texts = self.records.contents([label for label, _ in fused])
        speakers = {label: speaker_of(text) or "" for label, text in texts.items()}
        fused = prefer_speakers(fused, speakers, query, weights.speaker)
        fused = prefer_informative(fused, texts, weights.length, weights.question, query)
        if graph:
            ranked = spreading.spread(
                self.records, fused, want,
                lambda labels: self.records.passing(labels, filters) - then,
            )  # fmt: skip
        else:
            ranked = [(label, parts, None) for label, parts in fused[:want]]
        notes = self.records.by_labels([label for label, _, _ in ranked])
        # A note without a keyword match that scores 0 (the bottom of the vector list, no
        # speaker, no link), or whose vector points away from the query (cosine 0 or
        # below), matched nothing: the list is never padded with it.
        hits = [
            Hit(note=notes[label], score=parts["final"], scores=_parts(parts), via=via)
            for label, parts, via in ranked
            if label in notes and _matched(parts)
        ]
        if self.guard_mode == "off":
            return hits
        return read_time(self.records, hits, k, held_last=self.guard_mode == "quarantine")

    def _windowed(
        self,
        query: str,
        filters: Filters,
        pool: int,
        weights: Weights,
        restrict: tuple[set[int] | None, set[int], set[int]],
    ) -> Windowed:
        """BM25 of each note with its conversation window (see retrieval/windows.py)."""
        only, exclude, then = restrict
        # Question words and fillers ("what", "did", "when") match almost every note.
        own = self.indexes.text_search(
            query, filters, 2 * pool, ignore=STOPWORDS, only=only, exclude=exclude
        )
        found = self.indexes.text_search(
            query, filters, 2 * pool, windows=True, ignore=STOPWORDS, exclude=exclude
        )
        windowed = combine(own, found, weights.context)
        known = {label for label, _ in own}
        covered = [label for label, _ in windowed.bm25 if label not in known]
        if covered:
            # Turns a window brought in pass the same filters as any hit.
            allowed = self.records.passing(covered, filters) - then
            keep = [(label, s) for label, s in windowed.bm25 if label in known or label in allowed]
            windowed = Windowed(keep, windowed.stage)
        return windowed

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

    def lessons(self, query: str, scope: str | None = None) -> list[Lesson]:
        """The lessons (from caught poisoning attempts) relevant to a query."""
        return lessons_for(self.records, scope, self._query_vector(query))

    def _query_vector_soon(self, query: str) -> Callable[[], np.ndarray]:
        """The query's vector, to be collected later: a query not seen lately is embedded
        in another thread while this one runs the keyword searches. The model releases
        the interpreter while it computes, so the two overlap: at 10,000 notes recall
        p50 fell by about the embedding's time (MiniLM: 4 ms of 15)."""
        cached = self._query_vectors.get(query)
        if cached is not None:
            return lambda: cached
        return _embedding_pool().submit(self._query_vector, query).result

    def _query_vector(self, query: str) -> np.ndarray:
        """The query's vector. Recent ones are kept (recall and then lessons ask for the
        same; a benchmark asks each question under several weightings), up to
        QUERY_VECTORS: enough for a whole question set such as LoCoMo dev's 760."""
        cached = self._query_vectors.get(query)
        if cached is None:
            cached = self.embedder.embed([query])[0]
            if len(self._query_vectors) >= QUERY_VECTORS:
                # The oldest goes; another thread may have taken it already.
                with contextlib.suppress(StopIteration, RuntimeError, KeyError):
                    del self._query_vectors[next(iter(self._query_vectors))]
            self._query_vectors[query] = cached
        return cached


def _end_of_day(text: str | None, what: str) -> str | None:
    if not text:
        return None
    moment = parse_when(text, what)
    return moment[:10] + "T23:59:59" if len(text.strip()) == 10 else moment


def _matched(parts: dict[str, float]) -> bool:
    """A keyword match, or a positive score reached through the note's meaning (a positive
    cosine) or through a link from a hit (the graph)."""
    if parts.get("bm25", 0.0) > 0.0:
        return True
    reached = parts.get("vector", 1.0) > 0.0 or parts.get("graph", 0.0) > 0.0
    return parts["final"] > 0.0 and reached


def _parts(parts: dict[str, float]) -> dict[str, float]:
    return {name: round(parts[name], 6) for name in SCORE_PARTS if name in parts}
