"""reflect: consolidate clusters of related notes into insight notes, `derived_from` them.

Clusters come from the note graph (communities of `related` links) or, with a
topic, from recall. Offline, an insight is an honest extractive digest: key
phrases, the most central sentences, the time span and counts. With an LLM
it is a synthesized summary (validated; any failure falls back to the digest).
Insight content is never rewritten: when a cluster's digest changes, a new
insight supersedes the old one, so re-running never duplicates.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field

from zettelmem.backends.llm import LLM
from zettelmem.errors import LLMError
from zettelmem.ids import content_key
from zettelmem.models import INSIGHT_SOURCE, Change, Link, NewNote, Note
from zettelmem.store.protocol import RecordStore
from zettelmem.text import speaker_of, strip_speaker
from zettelmem.zettel import construct

log = logging.getLogger("zettelmem")

INSIGHT_TAG = "insight"
MIN_CLUSTER = 4


def nothing_qualified(topic: str | None) -> str:
    """Why reflect wrote nothing: what a cluster (or a topic) needs."""
    if topic:
        return f"no cluster qualified: no two notes of one scope match {topic!r} by keyword"
    return (f"no cluster qualified: an insight needs at least {MIN_CLUSTER} notes of one scope "
            "tied by `related` links (made when notes are close in meaning)")  # fmt: skip


MAX_CLUSTERS = 12
MAX_MEMBERS = 40
CENTRAL_SENTENCES = 3
NO_TITLE = "related notes"


@dataclass
class ReflectResult:
    created: list[Note] = field(default_factory=list)
    updated: list[Note] = field(default_factory=list)  # new versions that superseded old ones
    unchanged: list[Note] = field(default_factory=list)


class LLMInsight(BaseModel):
    """What an LLM returns for one cluster."""

    title: str = Field(description="A short title for what these memories have in common")
    insight: str = Field(description="Two to four sentences synthesizing the memories")


def communities(records: RecordStore, scope: str | None) -> list[list[str]]:
    """Groups of active, non-insight notes tied by `related` links, biggest first."""
    import networkx as nx  # only reflect needs it; kept out of start-up

    graph = nx.Graph()
    for src, dst, weight in records.related_edges(scope, INSIGHT_SOURCE):
        graph.add_edge(src, dst, weight=weight)
    if graph.number_of_nodes() == 0:
        return []
    groups = nx.community.louvain_communities(graph, weight="weight", seed=7)
    ranked = sorted((sorted(g) for g in groups if len(g) >= MIN_CLUSTER), key=lambda g: -len(g))
    return ranked[:MAX_CLUSTERS]


def digest(
    notes: Sequence[Note], vectors: dict[int, np.ndarray], idf: object, topic: str | None = None
) -> tuple[str, str]:
    """(title, text) of an extractive digest of a cluster; an insight asked for on a topic
    names it first (and so differs from the insight on the same notes as a community)."""
    speakers = sorted({s for n in notes if (s := speaker_of(n.content))})
    names = {w for s in speakers for w in construct.words(s)}
    phrases = shared_phrases(notes, idf if callable(idf) else None, names)
    central = _central(notes, vectors, phrases)
    times = sorted(n.event_at or n.created_at for n in notes)
    span = (
        times[0][:10] if times[0][:10] == times[-1][:10] else f"{times[0][:10]} to {times[-1][:10]}"
    )
    title = ", ".join(phrases[:3]) or NO_TITLE
    quoted = " | ".join(" ".join(n.content.split())[:200] for n in central)
    who = f" Voices: {', '.join(speakers)}." if speakers else ""
    named = f"{' '.join(topic.split())} ({title})" if topic else title
    body = (
        f"Insight on {named}: {len(notes)} notes, {span}.{who} "
        f"Key phrases: {', '.join(phrases)}. Most central: {quoted}"
    )
    return title, body


def shared_phrases(
    notes: Sequence[Note], idf: Callable[[str], float] | None, names: set[str]
) -> list[str]:
    """Key phrases that at least half the notes carry (else a fifth), most widely carried first.

    Rarity across the whole store alone would crown one note's outlier; what a
    cluster is about is what its notes share.
    """
    texts = [strip_speaker(n.content).lower() for n in notes]
    candidates: dict[str, float] = {}
    for text in texts:
        for phrase in construct.keywords(text, idf, limit=12):
            for word in phrase.split():
                if word not in names:
                    candidates.setdefault(word, idf(word) if idf else 1.0)
            if not set(phrase.split()) & names:
                candidates.setdefault(phrase, sum(idf(w) if idf else 1.0 for w in phrase.split()))
    carried = {p: sum(_has(text, p) for text in texts) for p in candidates}
    # Carried by half the notes; a loose cluster settles for a fifth.
    shared = [p for p in candidates if carried[p] * 2 >= len(texts) and carried[p] >= 2] or [
        p for p in candidates if carried[p] * 5 >= len(texts) and carried[p] >= 2
    ]
    ranked = sorted(shared, key=lambda p: (-carried[p], -len(p.split()), -candidates[p], p))
    out: list[str] = []
    for phrase in ranked:
        if not any(set(phrase.split()) <= set(chosen.split()) for chosen in out):
            out.append(phrase)
    return out[:5]


def _has(text: str, phrase: str) -> bool:
    return re.search(rf"\b{re.escape(phrase)}\b", text) is not None


def _central(
    notes: Sequence[Note], vectors: dict[int, np.ndarray], phrases: Sequence[str]
) -> list[Note]:
    """Close to the cluster's centre and carrying its key phrases (not small talk)."""
    present = [n for n in notes if n.label in vectors]
    if not present:
        return list(notes[:CENTRAL_SENTENCES])
    matrix = np.stack([vectors[n.label] for n in present])
    closeness = matrix @ matrix.mean(axis=0)
    key_words = {w for p in phrases for w in p.split()}
    carried = np.array([len(key_words & set(construct.words(n.content))) for n in present])
    order = np.argsort(-(closeness + 0.15 * carried), kind="stable")
    return [present[i] for i in order[:CENTRAL_SENTENCES]]


def synthesize(llm: LLM | None, title: str, body: str, notes: Sequence[Note]) -> tuple[str, str]:
    """An LLM's insight for the cluster, or the digest when there is no LLM or it fails."""
    if llm is None:
        return title, body
    listing = "\n".join(f"- ({n.event_at or n.created_at}) {n.content}" for n in notes)
    try:
        answer = llm.structured(
            "You consolidate an agent's memories into one insight. Be factual; only use the "
            "memories given.",
            f"Memories:\n{listing}\n\nWrite what they have in common and what follows from them.",
            LLMInsight,
        )
    except LLMError as exc:
        log.warning("LLM insight failed (%s); writing the offline digest instead", exc)
        return title, body
    return answer.title, f"Insight on {answer.title}: {answer.insight}"


def cluster_key(member_ids: Sequence[str], topic: str | None) -> str:
    basis = f"topic:{topic.strip().lower()}" if topic else "ids:" + ",".join(sorted(member_ids))
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def sources_of(records: RecordStore, insight_id: str) -> set[str]:
    return records.derived_sources(insight_id)


def insight_context(topic: str | None, size: int) -> str:
    """The context line that also tells a topic insight from a community one."""
    return f"insight on the topic: {topic.strip()}" if topic else f"insight from {size} notes"


def previous_insight(
    records: RecordStore, scope: str, members: Sequence[str], topic: str | None = None
) -> Note | None:
    """The active insight of this scope and kind sharing most sources with the cluster (>= half)."""
    if not members:
        return None
    context = insight_context(topic, 0) if topic else "insight from %"
    row = records.insight_sharing_most(scope, INSIGHT_SOURCE, context, bool(topic), members)
    if row is None or row[1] * 2 < len(members):
        return None
    return records.get(row[0])


def plan_insight(
    insight_id: str,
    body: str,
    title: str,
    scope: str,
    members: Sequence[Note],
    previous: Note | None,
    topic: str | None = None,
) -> tuple[NewNote, list[Link], list[Change]]:
    """The insight note, its derived_from links, and the superseding of its previous version."""
    times = sorted(n.event_at or n.created_at for n in members)
    tags = [INSIGHT_TAG, *[t for t in _common_tags(members) if t != INSIGHT_TAG]][
        : construct.MAX_TAGS
    ]
    phrases = tuple(title.split(", ")) if title != NO_TITLE else ()
    note = NewNote(
        content=body, scope=scope, source=INSIGHT_SOURCE, event_at=times[-1], tags=tuple(tags),
        keywords=phrases, context=insight_context(topic, len(members)),
        dedupe_key=content_key(body), id=insight_id,
    )  # fmt: skip
    links = [Link(insight_id, m.id, "derived_from", 1.0) for m in members]
    changes: list[Change] = []
    if previous is not None:
        links.append(Link(insight_id, previous.id, "supersedes", 1.0))
        changes.append(Change(previous.id, "status", "active", "superseded",
                              f"superseded by insight {insight_id}", cause=insight_id))  # fmt: skip
    return note, links, changes


def _common_tags(notes: Sequence[Note]) -> list[str]:
    counts: dict[str, int] = {}
    for n in notes:
        for t in n.tags:
            counts[t] = counts.get(t, 0) + 1
    return [t for t, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c * 3 >= len(notes)]
