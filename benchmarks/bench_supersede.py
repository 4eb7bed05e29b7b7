"""How often would the supersede rule fire on LoCoMo turns, were they standalone facts?

LoCoMo's turns are chat, not updates of earlier facts (a few are: "I'm now ..."), so
every firing is a candidate false positive to read. For each turn with an update cue,
the earlier turns of its conversation are its candidates (top 8 by own-vector cosine
and top 8 by shared content words, as the write path's hybrid neighbour search
approximately finds them); the old rule (a cue and cosine >= 0.75) and the mechanism
(`construct.same_fact_update`: cue, same subject, same attribute) are counted.

    python benchmarks/bench_supersede.py ../shared/locomo/locomo_dev.json [--home DIR] [--show N]

The home is imported once (as bench_fusion.py does) and reused.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from zettelmem.memory.core import Memory
from zettelmem.models import Note
from zettelmem.text import UPDATE_CUE
from zettelmem.transfer.importers import locomo
from zettelmem.zettel.construct import _content, same_fact_update

OLD_MIN_COS = 0.75  # the rule before the mechanism
CANDIDATES = 8


def _by_scope(memory: Memory) -> dict[str, list[tuple[Note, np.ndarray]]]:
    out: dict[str, list[tuple[Note, np.ndarray]]] = defaultdict(list)
    for note, vector in memory.records.iter_notes():
        if vector is not None:
            out[note.scope].append((note, vector))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--home", type=Path, default=Path("/tmp/mem-bench-fusion"))
    parser.add_argument("--show", type=int, default=30, help="Firings of the mechanism to print.")
    args = parser.parse_args()
    with Memory(args.home, llm=False) as memory:
        if memory.stats()["notes"] == 0:
            memory.remember_many(locomo.notes(locomo.load(args.file)))
        scopes = _by_scope(memory)
    turns = cued = old_fired = new_fired = 0
    shown: list[tuple[str, str]] = []
    for rows in scopes.values():
        vectors = np.stack([v for _, v in rows])
        words = [_content(n.content) for n, _ in rows]
        for i, (note, vector) in enumerate(rows):
            turns += 1
            if i == 0 or not UPDATE_CUE.search(note.content):
                continue
            cued += 1
            sims = vectors[:i] @ vector
            overlap = np.array([len(words[i] & w) for w in words[:i]])
            pool = dict.fromkeys([*np.argsort(-sims)[:CANDIDATES],
                                  *np.argsort(-overlap)[:CANDIDATES]])  # fmt: skip
            old_fired += any(sims[j] >= OLD_MIN_COS for j in pool)
            hit = next((j for j in sorted(pool, key=lambda j: -sims[j])
                        if same_fact_update(note.content, rows[j][0].content)), None)  # fmt: skip
            if hit is not None:
                new_fired += 1
                shown.append((rows[int(hit)][0].content, note.content))
    print("| rule | turns | with an update cue | would supersede | share of cued turns |")
    print("|---|---|---|---|---|")
    for name, fired in (("cue + cosine >= 0.75", old_fired), ("same_fact_update", new_fired)):
        print(f"| {name} | {turns} | {cued} | {fired} | {fired / max(cued, 1):.1%} |")
    for old, new in shown[: args.show]:
        print(f"\nOLD: {old[:160]}\nNEW: {new[:160]}")


if __name__ == "__main__":
    main()
