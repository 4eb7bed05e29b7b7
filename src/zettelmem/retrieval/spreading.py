"""Graph-aware recall: spreading activation from the strongest hits along their links."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zettelmem.models import Link
from zettelmem.store.protocol import RecordStore

# How much of a hit's score flows along one link of each kind (times its weight).
KIND_FLOW = {"related": 0.6, "follows": 0.6, "derived_from": 0.4, "supersedes": 0.2,
             "mentions": 0.3}  # fmt: skip
SEEDS = 10  # the strongest hits that spread
MIN_ACTIVATION = 0.05
RESERVE_RATIO = 1.0  # see _merge: any lower ratio cost R@10 on LoCoMo dev
BOOST = 0.5  # share of its graph activation a hit already found adds to its score


# Slots of the top k that notes found only through links may take (when they beat
# RESERVE_RATIO x the score at the cut). Measured on LoCoMo dev, every setting
# above zero cost 1 to 4 points of R@10: linked notes help by lifting candidates
# both retrievers found, not by joining on their own. Kept tunable, off.
EXTRA_SLOTS = 0.0  # as a share of k


def budget(k: int) -> int:
    """Slots of the top k kept for notes only the graph brought in."""
    return int(k * EXTRA_SLOTS)


def spread(
    records: RecordStore,
    fused: Sequence[tuple[int, dict[str, float]]],
    k: int,
    passes: Callable[[list[int]], set[int]],
) -> list[tuple[int, dict[str, float], Link | None]]:
    """Re-rank fused hits with a `graph` part; returns the top k with the link that brought each."""
    ranked = list(fused)
    if not ranked or k < 2:
        return [(label, parts, None) for label, parts in ranked[:k]]
    seeds = ranked[:SEEDS]
    ids = records.ids_at([label for label, _ in seeds])
    # A seed passes on how well it matched, not its informativeness prior (which says
    # nothing about its neighbours): with the prior in, LoCoMo dev R@10 fell 0.794 -> 0.786.
    seed_score = {
        ids[label]: parts["final"] - parts.get("prior", 0.0)
        for label, parts in seeds
        if label in ids
    }
    activation: dict[str, tuple[float, Link]] = {}
    for link in records.adjacent(list(seed_score), list(KIND_FLOW)):
        # Activation flows both ways along a link, from whichever end is a seed.
        for seed, other in ((link.src, link.dst), (link.dst, link.src)):
            if seed not in seed_score:
                continue
            value = seed_score[seed] * KIND_FLOW[link.kind] * link.weight
            if value >= MIN_ACTIVATION and value > activation.get(other, (0.0, link))[0]:
                activation[other] = (value, Link(seed, other, link.kind, link.weight))
    return _merge(records, ranked, activation, k, passes)


def _merge(
    records: RecordStore,
    ranked: list[tuple[int, dict[str, float]]],
    activation: dict[str, tuple[float, Link]],
    k: int,
    passes: Callable[[list[int]], set[int]],
) -> list[tuple[int, dict[str, float], Link | None]]:
    labels = records.labels_of(list(activation))
    known = {label for label, _ in ranked}
    boosted: list[tuple[int, dict[str, float], Link | None]] = []
    extra: list[tuple[int, dict[str, float], Link | None]] = []
    # Notes only the graph found can take places only within the budget: without one
    # (the default) they are not looked at, nor checked against the filters.
    allowed = passes(list(labels.values())) if budget(k) else set()
    for note_id, (value, via) in activation.items():
        label = labels.get(note_id)
        if label is None or label not in allowed:
            continue
        if label in known:
            continue
        extra.append((label, {"graph": round(value, 6), "final": value}, via))
    graph_of = {labels[n]: v for n, (v, _) in activation.items() if n in labels}
    vias = {labels[n]: link for n, (_, link) in activation.items() if n in labels}
    for label, parts in ranked:
        if label in graph_of:
            parts = {**parts, "graph": round(graph_of[label], 6),
                     "final": parts["final"] + BOOST * graph_of[label]}  # fmt: skip
            boosted.append((label, parts, vias[label]))
        else:
            boosted.append((label, parts, None))
    boosted.sort(key=lambda item: (-item[1]["final"], item[0]))
    extra.sort(key=lambda item: (-item[1]["final"], item[0]))
    # The budget: a linked note strong enough (against the last hit that would make the
    # cut) keeps a place even when fusion alone would push it out.
    cut = boosted[k - 1][1]["final"] if len(boosted) >= k else 0.0
    reserve = [item for item in extra if item[1]["final"] >= RESERVE_RATIO * cut][: budget(k)]
    top = boosted[: k - len(reserve)]
    return sorted(top + reserve, key=lambda item: (-item[1]["final"], item[0]))[:k]
