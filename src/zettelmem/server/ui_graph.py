"""The graph view's data: which notes to draw (quarantined hidden, the most linked kept
beyond a cap), their communities, labels and starting positions, as one compact document
that the page's own script lays out and draws."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zettelmem.memory.core import Memory
from zettelmem.models import INSIGHT_SOURCE, LINK_KINDS, Note
from zettelmem.render import note_label

# Beyond this many notes the page draws the most linked ones and says so. 5,000 nodes
# and their links still pan at interactive frame rates on a canvas (benchmarks/bench_ui.py).
MAX_NODES = 5000
# Communities that get a colour of their own; the rest share one grey.
COLOURED = 10
# Communities smaller than this are drawn together on the outside, in grey.
MIN_COMMUNITY = 3
# Rounds of label propagation before Louvain. On the LoCoMo dev graph (hashing embedder,
# 680 and 2,760 notes) 5 rounds keep modularity within 0.03 of plain Louvain (0.55 vs
# 0.58; 0.82 vs 0.83) in a fifth of its time; 1-3 rounds score the same but leave
# Louvain more nodes, 10+ let one label flood a conversation.
LPA_ROUNDS = 5
GOLDEN = math.pi * (3.0 - math.sqrt(5.0))
SHAPE_NOTE, SHAPE_INSIGHT, SHAPE_SUPERSEDED = 0, 1, 2

Edge = tuple[str, str, str]  # (src, dst, kind)


@dataclass(frozen=True)
class Picked:
    """The notes to draw, their links as index pairs, and how many there were in all."""

    notes: list[Note]
    edges: list[tuple[int, int, int]]  # (src index, dst index, kind index)
    total: int


def load_view(memory: Memory, scope: str | None, *, details: bool = False,
              cap: int = MAX_NODES) -> dict[str, object]:  # fmt: skip
    """The graph of a scope (None: every scope) as the page's JSON document."""
    graph = memory.graph(scope)
    count = max(1, graph.number_of_nodes())
    notes = memory.list_notes(scope, limit=count)
    # The graph keys each link by its kind; reading keys is ~20x faster than data dicts.
    edges = [(a, b, str(kind)) for a, b, kind in graph.edges(keys=True)]
    return view(notes, edges, scope=scope, details=details, cap=cap)


def pick(notes: Sequence[Note], edges: Sequence[Edge], cap: int = MAX_NODES) -> Picked:
    """Drop quarantined notes; beyond ``cap``, keep insights and then the most linked."""
    shown = [n for n in notes if n.status != "quarantined"]
    index = {n.id: i for i, n in enumerate(shown)}
    total = len(shown)
    if total > cap:
        degree = Counter(x for a, b, _ in edges if a in index and b in index for x in (a, b))
        ranked = sorted(shown, key=lambda n: (n.source != INSIGHT_SOURCE, -degree[n.id], n.id))
        shown = sorted(ranked[:cap], key=lambda n: index[n.id])
        index = {n.id: i for i, n in enumerate(shown)}
    kinds: dict[str, int] = {kind: i for i, kind in enumerate(LINK_KINDS)}
    seen: set[tuple[int, int, int]] = set()
    pairs = []
    for a, b, kind in edges:
        if a in index and b in index and a != b:
            key = (index[a], index[b], kinds.get(kind, 0))
            if key not in seen and (key[1], key[0], key[2]) not in seen:
                seen.add(key)
                pairs.append(key)
    return Picked(shown, pairs, total)


def communities(n: int, edges: Sequence[tuple[int, int, int]], seed: int = 7) -> np.ndarray:
    """Louvain communities of the undirected links, over the graph first coarsened by a
    few rounds of label propagation (Louvain's first level is most of its time)."""
    import networkx as nx  # only the graph view needs it

    if n == 0 or not edges:
        return np.arange(n)
    pairs = np.array([(a, b) for a, b, _ in edges], dtype=np.int64)
    coarse = _propagate(n, pairs, seed)
    ends = np.sort(coarse[pairs], axis=1)
    keys, counts = np.unique(ends, axis=0, return_counts=True)
    quotient = nx.Graph()
    quotient.add_nodes_from(np.unique(coarse).tolist())
    # Links inside a coarse group become self-loops, so modularity still counts them.
    quotient.add_weighted_edges_from(
        (int(a), int(b), int(c)) for (a, b), c in zip(keys.tolist(), counts.tolist())
    )
    parts = nx.community.louvain_communities(quotient, weight="weight", seed=seed,
                                             threshold=1e-3)  # fmt: skip
    where = {label: i for i, part in enumerate(parts) for label in part}
    return np.array([where[label] for label in coarse.tolist()], dtype=np.int64)


def _propagate(n: int, pairs: np.ndarray, seed: int) -> np.ndarray:
    """A few rounds of label propagation: each note takes the label most of its
    neighbours hold; a random half moves per round, so labels do not oscillate."""
    labels = np.arange(n)
    src = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
    dst = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
    # A note's own label counts a little, so ties keep what it has.
    weight = np.concatenate([np.ones(2 * len(pairs)), np.full(n, 0.5)])
    rng = np.random.default_rng(seed)
    for _ in range(LPA_ROUNDS):
        best = _strongest_label(n, src, labels[dst], weight)
        labels = np.where(rng.random(n) < 0.5, best, labels)
    return labels


def _strongest_label(n: int, node: np.ndarray, label: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """For each node, the neighbour label with the largest summed weight."""
    order = np.lexsort((label, node))
    node, label, weight = node[order], label[order], weight[order]
    starts = np.flatnonzero(np.r_[True, (node[1:] != node[:-1]) | (label[1:] != label[:-1])])
    sums = np.add.reduceat(weight, starts)
    g_node, g_label = node[starts], label[starts]
    # Per node, the group with the largest sum (the smallest label on ties).
    pick_order = np.lexsort((g_label, -sums, g_node))
    first = np.r_[True, g_node[pick_order][1:] != g_node[pick_order][:-1]]
    best = np.arange(n)
    chosen = pick_order[first]
    best[g_node[chosen]] = g_label[chosen]
    return best


def ranked_groups(labels: np.ndarray) -> np.ndarray:
    """Community number per note, biggest community 0; small ones all get -1."""
    counts = Counter(labels.tolist())
    order = [lab for lab, size in counts.most_common() if size >= MIN_COMMUNITY]
    rank = {lab: i for i, lab in enumerate(order)}
    return np.array([rank.get(lab, -1) for lab in labels.tolist()], dtype=np.int64)


def positions(groups: np.ndarray, degree: np.ndarray, spacing: float = 12.0) -> np.ndarray:
    """Starting positions: each community a disc on a golden-angle spiral (biggest in the
    middle), its best-linked notes at the disc's centre; the script refines them."""
    n = len(groups)
    out = np.zeros((n, 2))
    placed = 0.0
    buckets = sorted(set(groups.tolist()), key=lambda g: (g < 0, g))
    for number, group in enumerate(buckets):
        members = np.flatnonzero(groups == group)
        members = members[np.argsort(-degree[members], kind="stable")]
        size = len(members)
        # Discs sit on a spiral whose radius grows with the area used so far.
        ring = spacing * math.sqrt(placed + size / 2.0) * 1.6 if number else 0.0
        cx, cy = ring * math.cos(number * GOLDEN), ring * math.sin(number * GOLDEN)
        k = np.arange(size)
        r = spacing * np.sqrt(k + 0.5)
        out[members, 0] = cx + r * np.cos(k * GOLDEN)
        out[members, 1] = cy + r * np.sin(k * GOLDEN)
        placed += size
    return out


def view(notes: Sequence[Note], edges: Sequence[Edge], *, scope: str | None,
         details: bool = False, cap: int = MAX_NODES) -> dict[str, object]:  # fmt: skip
    """The document the graph page draws (see graph.js for how each field is read)."""
    picked = pick(notes, edges, cap)
    n = len(picked.notes)
    degree = np.zeros(n, dtype=np.int64)
    for a, b, _ in picked.edges:
        degree[a] += 1
        degree[b] += 1
    groups = ranked_groups(communities(n, picked.edges))
    xy = positions(groups, degree)
    doc: dict[str, object] = {
        "scope": scope,
        "total": picked.total,
        "shown": n,
        "ids": [note.id for note in picked.notes],
        "labels": [note_label(note) for note in picked.notes],
        "x": [round(float(v), 1) for v in xy[:, 0]],
        "y": [round(float(v), 1) for v in xy[:, 1]],
        "group": [int(g) if g < COLOURED else COLOURED for g in groups.tolist()],
        "shape": [_shape(note) for note in picked.notes],
        "degree": degree.tolist(),
        "edges": [v for edge in picked.edges for v in edge],
        "kinds": list(LINK_KINDS),
        "groups": _group_names(picked.notes, groups),
    }
    if details:
        doc["details"] = [_detail(note) for note in picked.notes]
    return doc


def _shape(note: Note) -> int:
    if note.source == INSIGHT_SOURCE:
        return SHAPE_INSIGHT
    return SHAPE_SUPERSEDED if note.status == "superseded" else SHAPE_NOTE


def _group_names(notes: Sequence[Note], groups: np.ndarray) -> list[dict[str, object]]:
    """Each coloured community's size and its commonest key phrase, for the legend."""
    out = []
    for group in range(min(COLOURED, int(groups.max()) + 1 if len(groups) else 0)):
        members = [notes[i] for i in np.flatnonzero(groups == group).tolist()]
        phrases = Counter(k for note in members for k in note.keywords[:3])
        name = phrases.most_common(1)[0][0] if phrases else note_label(members[0], 24)
        out.append({"size": len(members), "name": name})
    return out


def _detail(note: Note) -> dict[str, object]:
    return {
        "content": note.content,
        "scope": note.scope,
        "when": (note.event_at or note.created_at)[:16],
        "tags": list(note.tags),
        "keywords": list(note.keywords),
        "source": note.source,
        "status": note.status,
    }
