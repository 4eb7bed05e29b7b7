"""The write path's Zettelkasten step: find each new note's neighbours, then plan its
derived fields, its links and the evolution of its neighbours (construct.py decides)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from zettelmem import workers
from zettelmem.backends.embeddings import Embedder
from zettelmem.backends.llm import LLM, BoundedLLM
from zettelmem.guard import signals
from zettelmem.guard.judge import Judge
from zettelmem.models import STATUSES, Change, Filters, Link, Neighbour, NewNote, Note
from zettelmem.retrieval.fusion import fuse
from zettelmem.store.protocol import RecordStore, SearchIndexes
from zettelmem.store.threads import SESSION_GAP_S, thread_of
from zettelmem.text import STOPWORDS
from zettelmem.timeutil import to_epoch
from zettelmem.zettel import construct

if TYPE_CHECKING:  # the LLM's answer models (pydantic) load when an LLM is in use
    from zettelmem.zettel import construct_llm

CANDIDATES = 8  # per retriever, when looking for a new note's neighbours

_topic_cache: dict[str, dict[str, np.ndarray]] = {}


def topic_vectors(embedder: Embedder) -> dict[str, np.ndarray]:
    """The topic descriptions embedded once per process and embedder."""
    key = f"{embedder.name}:{embedder.dims}"
    if key not in _topic_cache:
        names = list(construct.TOPICS)
        vectors = embedder.embed([construct.TOPICS[n] for n in names])
        _topic_cache[key] = dict(zip(names, vectors))
    return _topic_cache[key]


def _same_session(a: NewNote | Note, b: NewNote | Note) -> bool:
    """Two turns of one conversation session: `follows` already ties them."""
    thread = thread_of(a.source)
    if thread is None or thread != thread_of(b.source) or not a.event_at or not b.event_at:
        return False
    return abs(_epoch(a.event_at) - _epoch(b.event_at)) <= SESSION_GAP_S


@lru_cache(maxsize=4096)
def _epoch(stored: str) -> int:
    return to_epoch(stored)


@dataclass(frozen=True)
class Plan:
    """What one batch's write will store: notes with derived fields, their links, the
    changes they cause to neighbours, and the guard's verdict on each checked note."""

    notes: list[NewNote]
    links: list[Link]
    changes: list[Change]
    verdicts: list[tuple[str, signals.Verdict]]


def _neighbour_pool() -> ThreadPoolExecutor:
    """The thread that searches a batch's vector neighbours while this one runs their
    keyword searches (hnswlib and numpy release the interpreter)."""
    return workers.pool("link", 1)


def _replaced_by_less_trusted(
    new: NewNote, made: Sequence[Link], near: Sequence[Neighbour]
) -> Neighbour | None:
    """The neighbour NEW would supersede when NEW's source is untrusted and the
    neighbour's is not (else None)."""
    if not signals.untrusted(new.source):
        return None
    by_id = {n.id: n for n in near}
    for link in made:
        old = by_id.get(link.dst)
        if link.kind == "supersedes" and old is not None and not old.untrusted:
            return old
    return None


class Linker:
    """Plans what a batch of new notes adds to the graph, before the write."""

    def __init__(self, records: RecordStore, indexes: SearchIndexes, embedder: Embedder) -> None:
        self.records = records
        self.indexes = indexes
        self.embedder = embedder
        self._hidden: set[int] = set()  # notes whose status keeps them from being neighbours

    def plan(
        self,
        batch: Sequence[NewNote],
        vectors: np.ndarray,
        llm: LLM | None = None,
        llm_calls: int = 1,
        judge: Judge | None = None,
    ) -> Plan:
        """The batch's notes with derived fields, their links, the changes they cause,
        and the guard's verdicts (when a judge is given).

        With an LLM, each note gets at most ``llm_calls`` calls; a failed call falls
        back to the offline construction for that note (a note is never lost). A
        note the guard flags never rewrites another note; one it quarantines is
        also left unlinked.
        """
        topics = topic_vectors(self.embedder)
        # Few notes are not active; the record's status index finds them at any size.
        self._hidden = self.records.matching_labels(
            Filters(statuses=tuple(s for s in STATUSES if s != "active"))
        )
        notes: list[NewNote] = []
        links: list[Link] = []
        changes: list[Change] = []
        evolved: dict[str, tuple[str, ...]] = {}  # tags planned earlier in this batch
        verdicts: list[tuple[str, signals.Verdict]] = []
        # Nothing is written while a batch is planned, so every note's stored neighbours
        # can be looked up at once (a batch's notes among themselves are found below).
        stored = self._stored_neighbours(batch, np.asarray(vectors))
        # Words' rarity over the store as it will be: the batch's own texts count.
        idf = self.indexes.text.idf_reader([n.content for n in batch])
        for i, (new, vector) in enumerate(zip(batch, vectors)):
            near = [
                replace(n, tags=evolved.get(n.id, n.tags))
                for n in self._neighbours(new, vector, notes, vectors[:i], stored[i])
            ]
            fields = None
            if llm is not None:
                from zettelmem.zettel import construct_llm

                fields = construct_llm.ask(
                    BoundedLLM(llm, llm_calls), new.content, new.event_at, near,
                    [n.content for n in near],
                )  # fmt: skip
            new, made, caused = self._construct(new, vector, topics, near, fields, idf)
            if judge is not None:
                assert new.id is not None
                verdict = judge(new, near)
                replaced = _replaced_by_less_trusted(new, made, near)
                if replaced is not None and judge.mode != "off":
                    # An untrusted writer does not get to retire a more trusted note: the
                    # note waits in review, and approving it applies the replacement.
                    made = [x for x in made if x.kind != "supersedes"]
                    caused = [c for c in caused if c.note_id != replaced.id]
                    verdict = signals.held_for_replacing(verdict, replaced.id, judge.mode)
                verdicts.append((new.id, verdict))  # accepted ones too: the note was checked
                if verdict.verdict != "accept":
                    caused = []
                if verdict.verdict == "quarantine":
                    made = []
                    new = replace(new, status="quarantined")
            for change in caused:
                if change.field == "tags":
                    evolved[change.note_id] = tuple(json.loads(change.after))
            links.extend(made)
            changes.extend(caused)
            notes.append(new)
        return Plan(notes, links, changes, verdicts)

    def links_for(self, note: Note, vector: np.ndarray) -> list[Link]:
        """The `related` links a stored note would have made when written: for a note held
        in quarantine at write (which made none) once review approves it."""
        self._hidden = self.records.matching_labels(
            Filters(statuses=tuple(s for s in STATUSES if s != "active"))
        )
        self._hidden.add(note.label)  # never its own neighbour
        [near] = self._stored_neighbours([note], np.asarray(vector)[None, :])
        return construct.plan_links(note.id, near)

    def neighbours(self, batch: Sequence[NewNote], vectors: np.ndarray) -> list[list[Neighbour]]:
        """Each note's neighbours as `plan` finds them (stored notes of its scope, and the
        batch's earlier notes), for the guard's check of notes stored as they are (a
        restore), which plan nothing else."""
        self._hidden = self.records.matching_labels(
            Filters(statuses=tuple(s for s in STATUSES if s != "active"))
        )
        stored = self._stored_neighbours(batch, np.asarray(vectors))
        return [self._neighbours(new, vectors[i], batch[:i], vectors[:i], stored[i])
                for i, new in enumerate(batch)]  # fmt: skip

    def _construct(
        self,
        new: NewNote,
        vector: np.ndarray,
        topics: dict[str, np.ndarray],
        near: list[Neighbour],
        fields: construct_llm.NoteFields | None,
        idf: Callable[[str], float],
    ) -> tuple[NewNote, list[Link], list[Change]]:
        assert new.id is not None
        note_id = new.id
        replaced: tuple[list[Link], list[Change]] = ([], [])
        if fields is not None:
            limit = max(construct.MAX_TAGS, len(new.tags))
            tags = tuple(dict.fromkeys([*new.tags, *fields.tags]))[:limit]
            new = replace(new, keywords=new.keywords or tuple(fields.keywords), tags=tags,
                          context=new.context or fields.context)  # fmt: skip
            for index in fields.supersedes[:1]:
                replaced = construct.supersede(
                    note_id, near[index - 1].id, "the LLM judged it newer"
                )
            from zettelmem.zettel import construct_llm

            replaced[1].extend(construct_llm.context_changes(note_id, fields, near))
        else:
            derived = construct.derive(
                new.content,
                new.event_at,
                new.tags,
                vector,
                topics,
                near,
                idf,
            )
            new = replace(new, keywords=new.keywords or derived.keywords, tags=derived.tags,
                          context=new.context or derived.context)  # fmt: skip
            standalone = thread_of(new.source) is None
            replaced = construct.plan_supersede(note_id, new.content, standalone, near)
        links = construct.plan_links(note_id, near) + replaced[0]
        # Only the topics the note's own text earns spread to its neighbours: not the tags
        # its writer gave, nor those it took from its neighbours (a tag would else travel
        # on from note to note, each step close enough, onto notes it has nothing to do with).
        earned = (construct.topic_tags(vector, topics) if fields is None
                  else [t for t in fields.tags if t in construct.TOPICS])  # fmt: skip
        changes = construct.plan_evolution(note_id, earned, near, list(construct.TOPICS))
        changes += replaced[1]
        return new, links, changes

    def _neighbours(
        self,
        new: NewNote,
        vector: np.ndarray,
        earlier: Sequence[NewNote],
        earlier_vecs: np.ndarray,
        stored: list[Neighbour],
    ) -> list[Neighbour]:
        found = list(stored)
        if len(earlier):
            sims = np.asarray(earlier_vecs) @ vector
            for i in np.flatnonzero(sims >= construct.LINK_MIN_COS):
                other, cos = earlier[int(i)], sims[i]
                if other.scope != new.scope or not other.id:
                    continue
                if other.status != "active":
                    continue
                if not _same_session(new, other):
                    alone = thread_of(other.source) is None
                    found.append(Neighbour(other.id, 0, float(cos), other.tags,
                                                  other.context, other.content, alone,
                                                  signals.untrusted(other.source)))  # fmt: skip
        return sorted(found, key=lambda n: -n.cos)[: construct.MAX_LINKS + 2]

    def _stored_neighbours(
        self, batch: Sequence[NewNote | Note], vectors: np.ndarray
    ) -> list[list[Neighbour]]:
        """Each new note's candidate neighbours among the stored notes of its scope: the
        fused top CANDIDATES of BM25 and the vector index, active, from other sessions.
        The vector look-ups run a scope at a time and the notes are read once a batch."""
        by_scope: dict[str, list[int]] = {}
        for i, new in enumerate(batch):
            by_scope.setdefault(new.scope, []).append(i)
        candidates: dict[int, list[int]] = {}
        index = self.indexes.vectors
        searched = {
            scope: _neighbour_pool().submit(
                index.search_many, vectors[rows], CANDIDATES, scope=scope, exclude=self._hidden
            )
            for scope, rows in by_scope.items()
            if index.count(scope)
        }
        for scope, rows in by_scope.items():
            if scope not in searched:
                continue
            bm25_lists = [
                self.indexes.text.search(
                    batch[i].content, Filters(scope=scope), CANDIDATES, ignore=STOPWORDS
                )
                for i in rows
            ]
            for i, vec, bm25 in zip(rows, searched[scope].result(), bm25_lists):
                candidates[i] = [label for label, _ in fuse(bm25, vec)[:CANDIDATES]]
        wanted = sorted({label for labels in candidates.values() for label in labels})
        notes = self.records.by_labels(wanted) if wanted else {}
        own = self.records.vectors(wanted) if wanted else {}
        out: list[list[Neighbour]] = [[] for _ in batch]
        for i, labels in candidates.items():
            new, vector = batch[i], vectors[i]
            for label in labels:
                note = notes.get(label)
                if note is None or label not in own or note.status != "active":
                    continue
                if _same_session(new, note):
                    continue
                out[i].append(Neighbour(note.id, label, float(vector @ own[label]), note.tags,
                                               note.context, note.content,
                                               thread_of(note.source) is None,
                                               signals.untrusted(note.source)))  # fmt: skip
        return out
