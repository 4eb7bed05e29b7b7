"""The note graph: links by hand, history and revert, the networkx graph, reflect."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from zettelmem.backends.llm import BoundedLLM
from zettelmem.errors import InvalidInput
from zettelmem.ids import new_id
from zettelmem.memory.reads import Reads
from zettelmem.models import INSIGHT_SOURCE, LINK_KINDS, Change, Link, LinkKind, Note
from zettelmem.validation import validate_choice, validate_scope

if TYPE_CHECKING:
    import networkx as nx

    from zettelmem.zettel.reflect import ReflectResult


class Notes(Reads):
    """links, link, history, revert, graph, reflect."""

    def links(self, note_id: str) -> list[Link]:
        self.records.get(note_id)
        return self.records.links_of(note_id)

    def link(self, src: str, dst: str, kind: str, weight: float = 1.0) -> Link:
        """Link two notes by hand; `supersedes` also marks the older note superseded."""
        checked: LinkKind = validate_choice(kind, LINK_KINDS, "link kind")
        src, dst = self.resolve_id(src), self.resolve_id(dst)  # ids or unique prefixes
        if src == dst:
            raise InvalidInput("a note cannot link to itself; pass two different ids")
        if not 0.0 < weight <= 1.0:
            raise InvalidInput(f"link weight must be in (0, 1], got {weight}")
        ends = self.records.get_many([src, dst])
        held = [n.id for n in ends if n.status == "quarantined"]
        if held:
            raise InvalidInput(f"note {held[0]} is quarantined by the guard and takes no links "
                               "until it is approved or rejected in review",
                               hint="open_review")  # fmt: skip
        if checked == "supersedes" and self._supersedes(dst, src):
            raise InvalidInput(f"{dst} already supersedes {src} (or a note that does); a note "
                               "cannot supersede what replaces it: link the other way round "
                               "or revert that link first")  # fmt: skip
        links = [Link(src, dst, checked, weight)]
        if checked == "related":
            links.append(Link(dst, src, checked, weight))
        changes = []
        if kind == "supersedes":
            changes.append(
                Change(dst, "status", "active", "superseded", f"superseded by {src}", cause=src)
            )
        self.records.write([], np.zeros((0, self.embedder.dims)), links, changes)
        return links[0]

    def _supersedes(self, newer: str, older: str) -> bool:
        """Does NEWER supersede OLDER, directly or through a chain of replacements?"""
        seen, frontier = {newer}, [newer]
        while frontier:
            reached = {x.dst for x in self.records.adjacent(frontier, ["supersedes"])
                       if x.src in frontier}  # fmt: skip
            if older in reached:
                return True
            frontier = sorted(reached - seen)
            seen |= reached
        return False

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
        # Imported here: reflect's LLM answer model pulls in pydantic, which a recall
        # never needs.
        from zettelmem.zettel import reflect
        from zettelmem.zettel.reflect import ReflectResult

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
            title, body = reflect.digest(members, vectors, self.indexes.text.idf_reader(), topic)
            title, body = reflect.synthesize(llm, title, body, members)
            note, links, changes = reflect.plan_insight(
                new_id(), body, title, cluster_scope, members, previous, topic
            )
            outcome = self.records.write([note], self.embedder.embed([body]), links, changes)
            stored, created = outcome.notes[0]
            if created:
                (result.updated if previous else result.created).append(stored)
            else:  # an insight of the same text stands already (a topic's, for the same notes)
                result.unchanged.append(stored)
        self.indexes.catch_up()
        return result

    def _clusters(self, topic: str | None, scope: str | None) -> list[tuple[str, list[Note]]]:
        """Clusters to reflect on, without notes the guard holds: an insight must never
        repeat a flagged note's text with the trust of a first-party note."""
        from zettelmem.zettel import reflect

        found = self._clusters_of_all(topic, scope)
        held = self.records.held([n.id for _, notes in found for n in notes])
        kept = [(s, [n for n in notes if n.id not in held]) for s, notes in found]
        # Held notes do not count towards the size a cluster needs either: poison must not
        # tip three honest notes into an insight they would not earn alone.
        least = 2 if topic else reflect.MIN_CLUSTER
        return [(s, notes) for s, notes in kept if len(notes) >= least]

    def _clusters_of_all(
        self, topic: str | None, scope: str | None
    ) -> list[tuple[str, list[Note]]]:
        from zettelmem.zettel import reflect

        if topic:
            hits = self._search(topic, reflect.MAX_MEMBERS, self.filters(scope=scope), None,
                                graph=False)  # fmt: skip
            by_scope: dict[str, list[Note]] = {}
            for hit in hits:
                if hit.note.source != INSIGHT_SOURCE and hit.scores.get("bm25"):
                    by_scope.setdefault(hit.note.scope, []).append(hit.note)
            return [(s, notes) for s, notes in by_scope.items() if len(notes) >= 2]
        out = []
        for ids in reflect.communities(self.records, scope):
            notes = self.records.get_many(ids[: reflect.MAX_MEMBERS])
            out.append((notes[0].scope, notes))
        return out
