"""Imports stay bounded: a giant message is cut at the note limit (and counted), a FIFO
is refused before it is opened, JSON nested beyond the parser is one rejected record,
and re-running a finished import embeds nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from zettelmem.backends.embeddings import HashingEmbedder
from zettelmem.memory.core import Memory
from zettelmem.transfer.pipeline import run_import
from zettelmem.validation import MAX_CONTENT_CHARS

pytestmark = pytest.mark.usefixtures("offline_env")


def _jsonl(path: Path, rows: Sequence[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_a_giant_message_is_cut_at_the_note_limit_and_counted(mem, tmp_path: Path) -> None:
    giant = ("word " * 600_000).strip()  # 3 MB in one message
    path = _jsonl(tmp_path / "chat.jsonl", [
        {"role": "user", "content": giant}, {"role": "assistant", "content": "short answer"},
    ])  # fmt: skip
    out = mem.json("import", str(path))
    assert out["truncated"] == 1
    stored = sum(len(n["content"]) for n in mem.json("list", "--limit", "1000")["notes"])
    assert stored <= MAX_CONTENT_CHARS + 200
    line = mem.ok("import", str(_jsonl(tmp_path / "again.jsonl", [
        {"role": "user", "content": giant}])))  # fmt: skip
    assert "truncated" in line.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs mkfifo")
def test_a_fifo_is_refused_before_it_is_opened(home: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "f.json"
    os.mkfifo(fifo)
    env = {**os.environ, "MEM_EMBEDDER": "hashing"}
    done = subprocess.run(
        [sys.executable, "-m", "zettelmem", "--home", str(home), "import", str(fifo)],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.startswith("Error: ") and "regular file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs mkfifo")
@pytest.mark.parametrize("exported", [False, True], ids=["vault", "exported-vault"])
def test_a_fifo_inside_a_vault_is_skipped_with_a_notice(
    home: Path, tmp_path: Path, exported: bool
) -> None:
    """A file of a vault that is not a regular file is never opened (a FIFO would block
    the import for good): one line names it and the rest is imported."""
    vault = tmp_path / "vault"
    env = {**os.environ, "MEM_EMBEDDER": "hashing"}

    def mem(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "zettelmem", *args], capture_output=True,
                              text=True, timeout=120, env=env, check=False)  # fmt: skip

    if exported:
        mem("--home", str(tmp_path / "source"), "remember", "Pottery class is on Mondays.")
        mem("--home", str(tmp_path / "source"), "export", str(vault), "--format", "markdown")
    else:
        vault.mkdir()
        (vault / "good.md").write_text("Pottery class is on Mondays.\n", encoding="utf-8")
    os.mkfifo(vault / "pipe.md")
    done = mem("--home", str(home), "import", str(vault))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("read 1, added 1")
    assert done.stderr.strip().splitlines() == [
        "Warning: skipped pipe.md: not a regular file (a pipe, a socket, a device or a "
        "dangling link); only regular files are read"
    ]


def test_a_zipped_export_or_its_unzipped_folder_names_the_file_to_import(
    mem: Any, home: Path, tmp_path: Path
) -> None:
    """The zip a ChatGPT or Claude.ai export downloads as, and the folder it unzips to,
    are each refused with one line naming the conversations.json to import (no home is
    made)."""
    folder = tmp_path / "chatgpt-export"
    folder.mkdir()
    (folder / "conversations.json").write_text("[]", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "chatgpt-export.zip", "w") as archive:
        archive.write(folder / "conversations.json", "conversations.json")
    for path, says in ((tmp_path / "chatgpt-export.zip", "is a zip archive; unzip it and "
                        "import the conversations.json inside"),
                       (folder, f"import that file: mem import '{folder / 'conversations.json'}'"),
                       ):  # fmt: skip
        done = mem("import", str(path))
        assert done.exit_code == 2
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("Error: ") and says in line
    assert not home.exists()


DEEP = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_lines_are_rejected_records(mem, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "chat.jsonl", [
        {"role": "user", "content": "first message about kites"},
        '{"role": "user", "content": ' + DEEP + "}",
        {"role": "assistant", "content": "second message about kites"},
    ])  # fmt: skip
    out = mem.json("import", str(path))
    assert out["added"] == 2 and out["rejected_count"] == 1
    assert "line 2" in out["rejected"][0]["why"] or "line-2" in out["rejected"][0]["where"]


@pytest.mark.parametrize("body", [
    '[{"role": "user", "content": "kites"}, ' + DEEP + "]",
    DEEP,
])  # fmt: skip
def test_deeply_nested_json_files_are_one_line(mem, tmp_path: Path, body: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(body)
    result = mem("import", str(path))
    assert "Traceback" not in result.stderr
    if result.exit_code != 0:
        assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1


def test_deeply_nested_export_line_is_refused(mem, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"type": "header", "format": "zettelmem-export", "version": 1}\n'
                    + DEEP + "\n")  # fmt: skip
    result = mem("import", str(path))
    assert result.exit_code != 0 and result.stderr.startswith("Error: ")
    assert len(result.stderr.splitlines()) == 1


class CountingEmbedder(HashingEmbedder):
    """The shipped hashing embedder, counting the texts it is asked to embed."""

    texts = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        CountingEmbedder.texts += len(texts)
        return super().embed(texts)


@pytest.mark.parametrize("kind", ["chat", "export"])
def test_a_finished_import_run_again_embeds_nothing(tmp_path: Path, kind: str) -> None:
    rows = [{"role": "user" if i % 2 else "assistant", "content": f"message {i} about owls",
             "conversation": f"c{i // 10}"} for i in range(300)]  # fmt: skip
    path = _jsonl(tmp_path / "chat.jsonl", rows)
    with Memory(tmp_path / "a", embedder=CountingEmbedder()) as memory:
        run_import(memory, path)
        if kind == "export":
            from zettelmem.transfer.export import export_jsonl

            path = tmp_path / "memory.jsonl"
            export_jsonl(memory, path)
            run_import(memory, path)
        CountingEmbedder.texts = 0
        report = run_import(memory, path)
        assert report.added == 0 and report.skipped == 300
        assert CountingEmbedder.texts == 0
