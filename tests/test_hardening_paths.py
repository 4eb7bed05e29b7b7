"""Where things are written, and what argv may hold: every bad path or argument is one
`Error:` line, nothing is half-written, nothing is written through a symlink, and an
existing export is only overwritten with --force."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("offline_env")


def _one_line(result) -> str:
    assert result.exit_code != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("fmt", ["jsonl", "markdown"])
@pytest.mark.parametrize("where", ["missing/sub/x", "/proc/zm-x", "/sys/zm-x"])
def test_export_to_unwritable_places_is_one_line(mem, tmp_path: Path, fmt: str, where: str):
    mem.remember("a note to export")
    dest = tmp_path / where if not where.startswith("/") else Path(where)
    if fmt == "markdown" and not where.startswith("/"):
        mem.ok("export", str(dest), "--format", fmt)  # a vault folder is made, parents too
        return
    line = _one_line(mem("export", str(dest), "--format", fmt))
    assert str(dest.parent) in line or str(dest) in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("fmt", ["jsonl", "markdown"])
def test_export_into_a_read_only_folder_is_one_line(mem, tmp_path: Path, fmt: str) -> None:
    mem.remember("a note to export")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        _one_line(mem("export", str(folder / "x"), "--format", fmt))
    finally:
        folder.chmod(0o700)


def test_export_refuses_to_overwrite_without_force(mem, tmp_path: Path) -> None:
    mem.remember("a note to export")
    dest = tmp_path / "m.jsonl"
    dest.write_text("precious\n")
    line = _one_line(mem("export", str(dest)))
    assert "--force" in line and dest.read_text() == "precious\n"
    mem.ok("export", str(dest), "--force")
    assert json.loads(dest.read_text().splitlines()[0])["format"] == "zettelmem-export"


def test_markdown_export_refuses_to_overwrite_notes_without_force(mem, tmp_path: Path):
    mem.remember("a note to export")
    vault = tmp_path / "vault"
    mem.ok("export", str(vault), "--format", "markdown")
    line = _one_line(mem("export", str(vault), "--format", "markdown"))
    assert "--force" in line
    mem.ok("export", str(vault), "--format", "markdown", "--force")
    assert len(list(vault.rglob("*.md"))) == 1


def test_long_words_make_safe_file_names(mem, tmp_path: Path) -> None:
    ids = [mem.remember(("x" * 300) + f" {i} " + ("y" * 300)) for i in range(3)]
    vault = tmp_path / "vault"
    mem.ok("export", str(vault), "--format", "markdown")
    files = list(vault.rglob("*.md"))
    assert len(files) == 3
    assert all(len(f.name.encode()) <= 200 for f in files)
    assert {i for i in ids if any(i in f.name for f in files)} == set(ids)


def test_a_vault_is_never_half_written(mem, tmp_path: Path, monkeypatch) -> None:
    for i in range(5):
        mem.remember(f"note {i} for the vault")
    from zettelmem.transfer import export

    calls = {"n": 0}
    real = export._write_no_follow

    def failing(path: Path, text: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real(path, text)

    monkeypatch.setattr(export, "_write_no_follow", failing)
    vault = tmp_path / "vault"
    line = _one_line(mem("export", str(vault), "--format", "markdown"))
    assert "No space left" in line
    assert not vault.exists() or not list(vault.rglob("*.md"))


def test_graph_output_never_writes_through_a_symlink(mem, tmp_path: Path) -> None:
    mem.remember("a note for the graph")
    target = tmp_path / "victim.txt"
    target.write_text("keep me\n")
    link = tmp_path / "graph.json"
    link.symlink_to(target)
    _one_line(mem("graph", "-o", str(link)))
    assert target.read_text() == "keep me\n"
    _one_line(mem("graph", "-o", str(tmp_path / "missing" / "g.json")))


def test_huge_limit_is_one_line(mem) -> None:
    mem.remember("a note")
    _one_line(mem("list", "--limit", str(10**30)))
    _one_line(mem("list", "--limit", str(2**63)))


def test_invalid_utf8_in_argv_is_one_line(home: Path) -> None:
    env = {**os.environ, "MEM_EMBEDDER": "hashing"}
    for args in ([b"remember", b"caf\xe9"], [b"recall", b"caf\xe9"],
                 [b"remember", b"ok", b"--scope", b"s\xe9"], [b"show", b"\xff\xfe"]):  # fmt: skip
        done = subprocess.run(
            [sys.executable.encode(), b"-m", b"zettelmem", b"--home", str(home).encode(), *args],
            capture_output=True, timeout=120, env=env, check=False,
        )  # fmt: skip
        err = done.stderr.decode("utf-8", "replace")
        assert "Traceback" not in err, err
        if args[0] != b"recall":  # a query nothing matches is no error
            assert done.returncode != 0, err
            assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    "args",
    [["review", "--scope", "a b"], ["export", "X", "--scope", "../x"],
     ["export", "X", "--format", "markdown", "--scope", "../x"]],
)  # fmt: skip
def test_scopes_are_checked_everywhere(mem, tmp_path: Path, args: list[str]) -> None:
    mem.remember("a note")
    args = [str(tmp_path / "out") if a == "X" else a for a in args]
    assert "invalid scope" in _one_line(mem(*args))
    assert not (tmp_path / "out").exists()
