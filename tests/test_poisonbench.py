"""`mem bench poison` end to end on one LoCoMo conversation (skipped without the dev split)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zettelmem.bench.poison import run_poison, table

DEV = Path(__file__).resolve().parents[2] / "shared" / "locomo" / "locomo_dev.json"
needs_dev = pytest.mark.skipif(
    not DEV.exists(), reason=f"LoCoMo dev split not found at {DEV} (it ships beside the repo)"
)


@pytest.mark.slow
@needs_dev
def test_poison_bench_reports_what_the_guard_changes(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(json.loads(DEV.read_text())[:1]), encoding="utf-8")
    report = run_poison(one, per_kind=2, embedder="hashing:512", modes=("off", "quarantine"))
    assert report["attacks"] == 8 and report["poison_notes"] > 8
    off, held = report["modes"]["off"], report["modes"]["quarantine"]
    assert off["poisoned_at_10"] > 0.5  # the attacks work when nothing guards
    assert held["poisoned_at_10"] < off["poisoned_at_10"]
    assert held["quarantined"] > 0 and sum(held["caught_by"].values()) >= held["quarantined"]
    assert held["clean_rewritten"] == 0 and held["honest_quarantined"] == 0
    assert abs(held["clean_before"] - off["clean_before"]) < 0.02
    lines = table(report).splitlines()
    assert len(lines) == 4 and lines[2].startswith("| off |")
