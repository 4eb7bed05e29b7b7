"""LongMemEval benchmark on a small file in the published format (written for the tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from zettelmem.bench import longmemeval
from zettelmem.cli.main import cli

MINI = Path(__file__).parent / "fixtures" / "longmemeval_mini.json"


def test_ndcg_rewards_gold_near_the_top() -> None:
    assert longmemeval.ndcg([True, False], 1, 5) == 1.0
    assert longmemeval.ndcg([False, True], 1, 5) == pytest.approx(1 / 1.585, abs=1e-3)
    assert longmemeval.ndcg([False, False], 1, 5) == 0.0
    assert longmemeval.ndcg([True, True, False], 3, 5) < 1.0


def test_turns_become_dated_notes_one_thread_per_session() -> None:
    item = longmemeval.load(MINI)[0]
    notes = longmemeval.notes(item)
    assert len(notes) == 8 and {n.scope for n in notes} == {"lme-q1"}
    dog = next(n for n in notes if "beagle puppy" in n.content)
    assert dog.content.startswith("user: ") and dog.event_at == "2023-05-03T18:30:00"
    assert dog.source == "longmemeval:q1/s2/0"
    assert longmemeval.gold_turns(item) == {("s2", 0)}


def test_report_per_question_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEM_HOME", str(tmp_path / "unused"))
    report = longmemeval.run_longmemeval(MINI, embedder="hashing")
    # The abstention question (no gold session) is skipped.
    assert report["all"]["questions"] == 3
    assert set(report["by_type"]) == {"single-session-user", "multi-session", "temporal-reasoning"}
    single = report["by_type"]["single-session-user"]
    assert single["session R@5"] == 1.0 and single["session NDCG@5"] == 1.0
    multi = report["by_type"]["multi-session"]
    assert multi["session R@5"] == 1.0  # three of four sessions are gold
    for part in report["by_type"].values():
        assert all(v is None or 0.0 <= v <= 1.0 for k, v in part.items() if k != "questions")
    assert "| **all** | 3 |" in longmemeval.table(report)


def test_cli_longmemeval_and_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["bench", "longmemeval", str(MINI), "--embedder", "hashing",
                                      "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["all"]["questions"] == 3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"question_id": "q"}]))
    result = CliRunner().invoke(cli, ["bench", "longmemeval", str(bad)])
    assert result.exit_code != 0 and "Error: " in result.output and "lacks" in result.output
