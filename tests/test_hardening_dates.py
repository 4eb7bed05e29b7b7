"""The supported date range (0001-01-01 to 9999-12-31 UTC, always four-digit years):
every door reads it back exactly, and anything outside is one line, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zettelmem.errors import InvalidInput
from zettelmem.timeutil import MAX_MOMENT, MIN_MOMENT, parse_when, to_epoch
from zettelmem.transfer.importers.units import when

pytestmark = pytest.mark.usefixtures("offline_env")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("0999-06-01", "0999-06-01T00:00:00"),
        ("0001-01-01", "0001-01-01T00:00:00"),
        ("0050-03-04T05:06:07", "0050-03-04T05:06:07"),
        ("9999-12-31T23:59:59", "9999-12-31T23:59:59"),
        ("9999-12-31T23:59:59-00:00", "9999-12-31T23:59:59"),
        ("0001-01-01T00:00:00-01:00", "0001-01-01T01:00:00"),
    ],
)
def test_dates_in_range_are_stored_with_four_digit_years(given: str, stored: str) -> None:
    assert parse_when(given) == stored
    assert parse_when(stored) == stored  # what is stored reads back as itself
    to_epoch(stored)


@pytest.mark.parametrize(
    "given",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-02:00", "not a date", "999-01-01", ""],
)
def test_dates_out_of_range_or_malformed_are_one_line(given: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(given)
    assert "\n" not in str(caught.value)
    assert "0001" in str(caught.value) or "ISO-8601" in str(caught.value)


def test_import_moments_outside_the_range_are_dropped_not_fatal() -> None:
    assert when(-6e10) == "0068-09-05T13:20:00" or when(-6e10).startswith("0068")
    assert when(-1e20) is None
    assert when("0500-01-01") == "0500-01-01T00:00:00"
    assert when(float("nan")) is None
    assert when(float("inf")) is None


def test_cli_remember_and_recall_with_old_dates(mem) -> None:
    note = mem.json("remember", "the abbey was founded", "--at", "0999-06-01")
    assert note["event_at"] == "0999-06-01T00:00:00"
    hits = mem.json("recall", "abbey founded", "--since", "0999-01-01", "--until", "0999-12-31")
    assert [h["id"] for h in hits["hits"]] == [note["id"]]
    assert mem.json("show", note["id"])["event_at"] == "0999-06-01T00:00:00"


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
def test_cli_zoned_times_at_the_edges_are_one_line(mem, at: str) -> None:
    result = mem("remember", "edge of time", "--at", at)
    assert result.exit_code != 0
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1
    assert "is outside the supported range 0001-01-01 to 9999-12-31 (UTC)" in result.stderr
    result = mem("recall", "edge", "--since", at)
    assert result.exit_code != 0 and len(result.stderr.splitlines()) == 1


def test_jsonl_import_with_ancient_timestamps_goes_through(mem, tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    rows = [
        {"role": "user", "content": "hello from the past", "timestamp": "0500-01-01"},
        {"role": "assistant", "content": "a later answer", "timestamp": "2024-01-01"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = mem.json("import", str(path))
    assert out["added"] == 2
    listed = mem.json("list")["notes"]
    assert sorted(n["event_at"] for n in listed) == ["0500-01-01T00:00:00", "2024-01-01T00:00:00"]


def test_range_constants_are_what_the_readme_says() -> None:
    assert (MIN_MOMENT, MAX_MOMENT) == ("0001-01-01T00:00:00", "9999-12-31T23:59:59")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "0001-01-01" in readme and "9999-12-31" in readme


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("2023-05-08T13:56:00", True),
        ("0001-01-01T00:00:00", True),
        ("9999-12-31T23:59:59", True),
        ("0000-01-01T00:00:00", False),
        ("2023-02-30T00:00:00", False),
        ("2023-05-08T24:00:00", False),
        ("2023-5-08T13:56:00", False),
        ("2023-05-08 13:56:00", False),
        ("2023-05-08T13:56:00+00:00", False),
        ("２０23-05-08T13:56:00", False),
        (None, False),
        (5, False),
    ],
)
def test_only_a_real_moment_in_the_stored_shape_counts_as_stored(text: object, kept: bool) -> None:
    from zettelmem.timeutil import is_stored

    assert is_stored(text) is kept


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Jan 17, 2024", "2024-01-17T00:00:00"),
        ("17 January 2024", "2024-01-17T00:00:00"),
        ("Tue, 16 Jan 2024 10:05", "2024-01-16T10:05:00"),
        ("May 12, 2024 3:05 pm", "2024-05-12T15:05:00"),
        ("Sept. 3rd, 2023 at 12:30 am", "2023-09-03T00:30:00"),
    ],
)
def test_an_import_reads_dates_with_the_month_spelled_out(given: str, stored: str) -> None:
    assert when(given) == stored


@pytest.mark.parametrize("given", ["12/05/2024", "15/01/2024 10:00", "Feb 30, 2024",
                                   "Smarch 3, 2024", "May 12, 2024 13:05 pm"])  # fmt: skip
def test_an_import_does_not_guess_an_ambiguous_or_impossible_date(given: str) -> None:
    assert when(given) is None


def test_an_import_counts_the_timestamps_it_could_not_read(tmp_path: Path) -> None:
    """A note whose timestamp is unreadable is dated by the import: the report says how many,
    on stderr and in --json, so a user can fix the file instead of finding wrong dates."""
    from conftest import MemCli

    rows = [
        {"speaker": "Maria", "text": "My dog Rex is a beagle.", "timestamp": "15/01/2024 10:00"},
        {"speaker": "Maria", "text": "Rex likes carrots.", "timestamp": "Jan 17, 2024"},
        {"speaker": "Maria", "text": "Rex hates the vacuum.", "timestamp": "2024-01-16"},
        {"speaker": "Maria", "text": "Rex has no date."},
    ]
    path = tmp_path / "pets.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    mem = MemCli(tmp_path / "h")
    out = mem.ok("import", str(path))
    assert "1 timestamp(s) not understood" in out.stderr
    dated = {n["content"]: n["event_at"] for n in mem.json("list")["notes"]}
    assert dated["Maria: Rex likes carrots."] == "2024-01-17T00:00:00"
    assert dated["Maria: Rex hates the vacuum."] == "2024-01-16T00:00:00"
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "a.md").write_text("---\ndate: 12/05/2024\n---\nDentist with Dr. Lee.\n")
    (vault / "b.md").write_text("---\ndate: May 12, 2024\n---\nPassport renewal sent.\n")
    report = mem.json("import", str(vault), "--scope", "v")
    assert (report["added"], report["undated"]) == (2, 1)
