"""Bad input through the CLI: one `Error:` line, a non-zero exit, and nothing written.

Broken derived indexes are not bad input: the next command repairs them from
the record, says so in one `Warning:` line, and answers as before.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import MemCli
from zettelmem.cli.main import cli
from zettelmem.validation import MAX_CONTENT_CHARS, MAX_K

pytestmark = pytest.mark.usefixtures("offline_env")

KNOWN = "<known id>"  # replaced by the id of the seeded note
UNKNOWN = "0000000000000000"


def _template(factory: pytest.TempPathFactory, build) -> tuple[Path, object]:
    """Build a home once per module (writes fsync, so they are slow); tests get copies."""
    home = factory.mktemp("template") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEM_EMBEDDER", "hashing")
        return home, build(MemCli(home))


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    return _template(
        tmp_path_factory,
        lambda m: m.remember("a note that must survive every bad command", "--scope", "keep"),
    )


@pytest.fixture
def seeded(mem, seeded_template) -> str:
    shutil.copytree(seeded_template[0], mem.home)
    return str(seeded_template[1])


def _one_error_line(result, *fragments: str) -> str:
    assert result.exit_code != 0, f"exit 0; stdout: {result.stdout!r}"
    assert result.stdout == "", f"data on stdout after an error: {result.stdout!r}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"stderr is not one line: {result.stderr!r}"
    assert lines[0].startswith("Error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


CASES = [
    # (argv, stdin, expected exit code, fragments the message must contain)
    (["remember", ""], None, 2, ["empty"]),
    (["remember", "  \t \n "], None, 2, ["empty"]),
    (["remember", "x" * (MAX_CONTENT_CHARS + 1)], None, 2, [f"{MAX_CONTENT_CHARS}", "limit"]),
    (["remember", "-"], b"", 2, ["empty"]),
    (["remember", "-"], b" \n\n ", 2, ["empty"]),
    (["remember", "-"], ("y" * (MAX_CONTENT_CHARS + 1)).encode(), 2, ["limit"]),
    (["remember", "-"], b"caf\xe9 latin-1, not UTF-8", 2, ["UTF-8"]),
    (["remember", "-"], b"\xff\xfe\x00h\x00i", 2, ["UTF-8"]),
    (["remember", "-"], b"before\x00after", 2, ["NUL"]),
    (["remember", "x", "--at", "yesterday"], None, 2, ["malformed", "yesterday"]),
    (["remember", "x", "--at", "2024-02-30"], None, 2, ["malformed", "2024-02-30"]),
    (["remember", "x", "--at", "2024-05-01T25:00"], None, 2, ["malformed"]),
    (["remember", "x", "--scope", ""], None, 2, ["invalid scope"]),
    (["remember", "x", "--scope", "two words"], None, 2, ["invalid scope", "two words"]),
    (["remember", "x", "--scope", "semi;colon"], None, 2, ["invalid scope"]),
    (["remember", "x", "--scope", "-dash-first"], None, 2, ["invalid scope"]),
    (["remember", "x", "--scope", "ümlaut"], None, 2, ["invalid scope"]),
    (["remember", "x", "--scope", "a" * 129], None, 2, ["invalid scope"]),
    (["remember", "x", "--tag", "two words"], None, 2, ["invalid tag"]),
    (["remember", "x", "--tag", ""], None, 2, ["invalid tag"]),
    (["recall", "q", "-k", "0"], None, 2, ["-k", "got 0"]),
    (["recall", "q", "-k", "-3"], None, 2, ["-k", "got -3"]),
    (["recall", "q", "-k", str(MAX_K + 1)], None, 2, ["-k"]),
    (["recall", "q", "--since", "last week"], None, 2, ["--since", "last week"]),
    (["recall", "q", "--until", "2024/05/01"], None, 2, ["--until", "2024/05/01"]),
    (["recall", "q", "--until", "2024-13-01"], None, 2, ["--until"]),
    (["recall", "q", "--scope", ""], None, 2, ["invalid scope"]),
    (["recall", "q", "--scope", "bad scope"], None, 2, ["invalid scope"]),
    (["recall", "q", "--tag", "bad tag"], None, 2, ["invalid tag"]),
    (["recall", "   "], None, 2, ["query is empty"]),
    (["list", "--scope", "bad scope"], None, 2, ["invalid scope"]),
    (["list", "--limit", "0"], None, 2, ["--limit"]),
    (["show", UNKNOWN], None, 3, ["no note", UNKNOWN]),
    (["forget", UNKNOWN], None, 3, ["no note", UNKNOWN]),
    (["forget", KNOWN, UNKNOWN], None, 3, ["no note", UNKNOWN]),
    (["forget", UNKNOWN, KNOWN], None, 3, ["no note", UNKNOWN]),
    (["forget"], None, 2, ["--query"]),
    (["forget", KNOWN, "--query", "survive", "--yes"], None, 2, ["not both"]),
    (["forget", "--query", "survive", "--scope", "bad scope", "--yes"], None, 2, ["scope"]),
    (["forget", "--query", "  ", "--yes"], None, 2, ["empty"]),
]


@pytest.mark.parametrize(("argv", "stdin", "code", "fragments"), CASES, ids=repr)
def test_bad_input_is_one_error_line_and_writes_nothing(
    mem, seeded, argv, stdin, code, fragments
) -> None:
    argv = [seeded if arg == KNOWN else arg for arg in argv]
    before = mem.state()
    result = mem(*argv, input=stdin)
    _one_error_line(result, *fragments)
    assert result.exit_code == code
    assert mem.state() == before
    assert mem.json("show", seeded)["content"] == "a note that must survive every bad command"


@pytest.mark.slow
def test_content_at_the_limit_is_accepted(mem) -> None:
    text = "z" * (MAX_CONTENT_CHARS - 1) + "!"
    note_id = mem.remember(text)
    assert mem.json("show", note_id)["content"] == text


@pytest.mark.parametrize(
    "content",
    [
        "not json at all",
        json.dumps([{"no_sample_id": 1}]),
        json.dumps({"sample_id": "x", "conversation": "not an object"}),
    ],
)
def test_bad_import_file_is_one_error_line_and_writes_nothing(mem, seeded, tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    before = mem.state()
    _one_error_line(mem("import", str(path), "--format", "locomo"), str(path))
    _one_error_line(mem("import", str(path)))
    assert mem.state() == before


def test_import_with_invalid_scope_writes_nothing(mem, seeded, write_locomo) -> None:
    path = write_locomo({"conv-1": [("8 May, 2023", [("Caroline", "hello there", None)])]})
    before = mem.state()
    _one_error_line(mem("import", str(path), "--scope", "no spaces allowed"), "invalid scope")
    assert mem.state() == before


# -- unusable homes ---------------------------------------------------------------------


@pytest.mark.parametrize("command", [["stats"], ["remember", "x"], ["recall", "x"], ["list"]])
def test_home_that_is_a_file(tmp_path: Path, command: list[str]) -> None:
    home = tmp_path / "home-file"
    home.write_bytes(b"precious bytes")
    result = CliRunner().invoke(cli, ["--home", str(home), *command], catch_exceptions=False)
    _one_error_line(result, str(home), "is a file")
    assert result.exit_code == 4
    assert home.read_bytes() == b"precious bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home-file"]


def test_home_below_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"")
    result = CliRunner().invoke(cli, ["--home", str(blocker / "home"), "stats"])
    _one_error_line(result, "cannot create home")
    assert blocker.read_bytes() == b""


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_home_that_is_not_writable(tmp_path: Path) -> None:
    home = tmp_path / "locked"
    home.mkdir()
    home.chmod(0o500)
    try:
        result = CliRunner().invoke(cli, ["--home", str(home), "remember", "x"])
        _one_error_line(result, "not writable")
        assert list(home.iterdir()) == []
    finally:
        home.chmod(0o700)


# -- broken derived indexes -------------------------------------------------------------

WORDS = ["aardvark", "bumblebee", "chinchilla", "dormouse", "echidna", "flamingo"]


def _build_indexed(mem) -> dict[str, str]:
    ids = {word: mem.remember(f"the {word} lives at the zoo") for word in WORDS}
    mem.ok("forget", ids.pop("flamingo"))  # a delete too, so the files hold a tombstone
    for word, note_id in ids.items():
        assert mem.top_id(word) == note_id
    return ids


@pytest.fixture(scope="module")
def indexed_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    return _template(tmp_path_factory, _build_indexed)


@pytest.fixture
def indexed(mem, indexed_template) -> dict[str, str]:
    """Five notes, each with one unique word, indexed and saved to disk."""
    shutil.copytree(indexed_template[0], mem.home)
    return dict(indexed_template[1])


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00garbage\xff" * 7)


def _text_garbage_everywhere(home: Path) -> None:
    for path in (home / "text").iterdir():
        _garbage(path)


def _text_garbage_meta(home: Path) -> None:
    _garbage(home / "text" / "meta.json")


def _text_garbage_segments(home: Path) -> None:
    for path in (home / "text").iterdir():
        if path.name != "meta.json":
            _garbage(path)


def _text_dir_deleted(home: Path) -> None:
    for path in (home / "text").iterdir():
        path.unlink()
    (home / "text").rmdir()


def _text_dir_emptied(home: Path) -> None:
    for path in (home / "text").iterdir():
        path.unlink()


def _text_dir_is_a_file(home: Path) -> None:
    _text_dir_deleted(home)
    _garbage(home / "text")


def _vectors_garbage(home: Path) -> None:
    _garbage(home / "vectors.hnsw")


def _vectors_truncated(home: Path) -> None:
    data = (home / "vectors.hnsw").read_bytes()
    (home / "vectors.hnsw").write_bytes(data[: len(data) // 2])


def _vectors_empty(home: Path) -> None:
    (home / "vectors.hnsw").write_bytes(b"")


def _vectors_deleted(home: Path) -> None:
    (home / "vectors.hnsw").unlink()


def _vector_labels_garbage(home: Path) -> None:
    _garbage(home / "vectors.hnsw.npz")


@pytest.mark.parametrize(
    "corrupt",
    [
        _text_garbage_everywhere,
        _text_garbage_meta,
        _text_garbage_segments,
        _text_dir_deleted,
        _text_dir_emptied,
        _text_dir_is_a_file,
        _vectors_garbage,
        _vectors_truncated,
        _vectors_empty,
        _vectors_deleted,
        _vector_labels_garbage,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_broken_index_is_rebuilt_with_one_warning(mem, indexed, corrupt) -> None:
    corrupt(mem.home)
    first = mem.ok("recall", "aardvark", "--json")
    warnings = first.stderr.splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("Warning: "), first.stderr
    assert "rebuilding" in warnings[0]
    assert json.loads(first.stdout)["hits"][0]["id"] == indexed["aardvark"]
    for word, note_id in indexed.items():
        result = mem.ok("recall", word, "--json")
        assert result.stderr == "", "the repaired index was not kept"
        top = json.loads(result.stdout)["hits"][0]
        assert top["id"] == note_id and {"bm25", "vector"} <= set(top["scores"])
    stats = mem.json("stats")
    assert stats["notes"] == len(indexed)
    assert stats["indexed"] == {"text": len(indexed), "vectors": len(indexed)}


def test_garbage_state_file_is_rebuilt(mem, indexed) -> None:
    _garbage(mem.home / "indexes.json")
    for word, note_id in indexed.items():
        assert mem.top_id(word) == note_id
    assert mem.json("stats")["indexed"] == {"text": len(indexed), "vectors": len(indexed)}
