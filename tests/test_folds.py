"""Cross-validated LoCoMo benchmark: weights chosen on the other conversations only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from zettelmem.bench import folds
from zettelmem.bench.locomo import questions as locomo_questions
from zettelmem.cli.main import cli
from zettelmem.memory.core import Memory
from zettelmem.retrieval.weights import DEFAULT, Weights
from zettelmem.transfer.importers import locomo

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "chat.locomo.json"


def _samples(tmp_path: Path) -> tuple[Path, list[dict[str, object]]]:
    one = json.loads(EXAMPLE.read_text())[0]
    samples = [{**one, "sample_id": f"chat-{i}"} for i in range(3)]
    path = tmp_path / "three.json"
    path.write_text(json.dumps(samples))
    return path, samples


def test_each_fold_is_chosen_on_the_other_conversations(tmp_path: Path) -> None:
    path, samples = _samples(tmp_path)
    grid = (DEFAULT, Weights(bm25=0.0, context=0.0, stage=0.0, speaker=0.0))
    with Memory(home=tmp_path / "h", embedder="hashing", llm=False) as mem:
        mem.remember_many(locomo.notes(locomo.load(path)))
        report = folds.cross_validate(mem, samples, 3, grid)
        scored = [folds.score(mem, samples, w) for w in grid]
    assert [f["test"] for f in report["folds"]] == [["chat-0"], ["chat-1"], ["chat-2"]]
    for fold in report["folds"]:
        train = [[r for r in rows if r.scope not in fold["test"]] for rows in scored]
        means = [sum(r.recall[10] for r in rows) / len(rows) for rows in train]
        best = max(range(len(grid)), key=lambda g: (means[g], -g))
        assert Weights(**fold["chosen"]) == grid[best]
    questions = sum(len(locomo_questions(s)) for s in samples)
    assert report["pooled"]["questions"] == questions
    assert report["worst"]["R@10"] == min(f["R@10"] for f in report["folds"])
    assert "| **pooled** |" in folds.table(report)


def test_cli_rejects_more_folds_than_conversations(tmp_path: Path) -> None:
    path, _ = _samples(tmp_path)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "h"), "bench", "locomo",
                                      str(path), "--folds", "4"])  # fmt: skip
    assert result.exit_code != 0
    assert "Error: --folds must be between 2 and the number of conversations (3)" in result.output


@pytest.mark.slow
def test_cli_folds_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = _samples(tmp_path)
    monkeypatch.setenv("MEM_EMBEDDER", "hashing")
    monkeypatch.setattr(folds, "GRID", (DEFAULT,))
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "h"), "bench", "locomo",
                                      str(path), "--folds", "3", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert len(report["folds"]) == 3 and 0.0 <= report["pooled"]["R@10"] <= 1.0
