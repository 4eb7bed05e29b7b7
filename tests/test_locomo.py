"""LoCoMo import (protocol of ../shared/locomo/README.md) and the retrieval quality bar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zettelmem.memory.core import Memory
from zettelmem.transfer.importers import locomo
from zettelmem.transfer.pipeline import run_import

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "locomo" / "locomo_dev.json"
EXAMPLE = ROOT / "examples" / "chat.locomo.json"


def test_dates_parse_to_stored_format() -> None:
    assert locomo.parse_locomo_date("1:56 pm on 8 May, 2023") == "2023-05-08T13:56:00"
    assert locomo.parse_locomo_date("10:04 am on 19 January, 2024") == "2024-01-19T10:04:00"
    assert locomo.parse_locomo_date("someday") is None


def test_example_import_follows_the_protocol(tmp_path: Path) -> None:
    sample = json.loads(EXAMPLE.read_text())[0]
    with Memory(home=tmp_path / "h", embedder="hashing") as mem:
        summary = run_import(mem, EXAMPLE)
        turns = sum(len(v) for k, v in sample["conversation"].items() if k[-1].isdigit())
        assert summary.format == "locomo" and summary.added == turns == mem.records.count()
        notes = {n.source: n for n in mem.list_notes(limit=1000)}
        cat = notes["locomo:maya-tom/D1:8"]
        assert cat.content == (
            "Tom: Please do. Also, I adopted a cat last week, her name is Pixel. "
            "[shares a photo: a grey cat sleeping on a laptop keyboard]"
        )
        assert cat.event_at == "2024-06-04T18:10:00" and cat.scope == "maya-tom"
        again = run_import(mem, EXAMPLE)
        assert again.added == 0 and again.skipped == turns
        scoped = run_import(mem, EXAMPLE, scope="other")
        assert scoped.added == turns and mem.records.count("other") == turns


needs_dev = pytest.mark.skipif(
    not DEV.exists(), reason=f"LoCoMo dev split not found at {DEV} (it ships beside the repo)"
)


@needs_dev
@pytest.mark.slow
def test_locomo_dev_quality_bar() -> None:
    from zettelmem.bench.locomo import run_locomo

    report = run_locomo(DEV)
    assert report["questions"] == 760
    # Measured 0.804 as `mem import` writes the file (0.806 on the former 128-note
    # batches; 0.779 before the prior, 0.749 before the windows; BM25 alone 0.592).
    assert report["R@10"] >= 0.78, report
    assert report["R@5"] >= 0.69, report  # measured 0.727 (0.686 before the prior)
    multi_hop = report["by_category"]["1"]["R@10"]
    assert multi_hop >= 0.48, report  # measured 0.516; BM25 alone: 0.297
    plain = report["without_graph"]
    # Graph recall costs multi-hop at most two points and the total at most one
    # (measured with the prior: multi-hop -0.002, R@10 +0.005; before it +0.009 and
    # -0.003: the windows carry what `follows` did, and the graph does not earn its place).
    assert multi_hop >= plain["by_category"]["1"]["R@10"] - 0.02
    assert report["R@10"] >= plain["R@10"] - 0.01
    assert report["R@1"] <= report["R@5"] <= report["R@10"] <= report["R@20"]
    # per conversation: every question counted once, pooled R@10 their weighted mean
    rows = report["by_conversation"]
    assert len(rows) == 5 and sum(r["questions"] for r in rows.values()) == 760
    pooled = sum(r["R@10"] * r["questions"] for r in rows.values()) / 760
    assert abs(pooled - report["R@10"]) < 0.001
