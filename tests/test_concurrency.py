"""Several real processes on one home: concurrent writers, a live reader, a killed import.

DESIGN invariants 2 and 5: every write lands in the record and in the indexes
of every process, and a crash at any instant leaves a store that opens and
answers for everything it committed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from zettelmem.cli.main import cli
from zettelmem.memory.core import Memory
from zettelmem.models import Filters, NewNote

pytestmark = pytest.mark.usefixtures("offline_env")

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from zettelmem.memory.core import Memory

    home, prefix, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    with Memory(home) as memory:
        while not go.exists():  # start together with the other writer
            time.sleep(0.005)
        for i in range(count):
            memory.remember(f"{prefix}{i:04d} was written by the {prefix} process",
                            source=f"proc:{prefix}")
    """
)

LOOPING_IMPORT = textwrap.dedent(
    """
    import sys
    from zettelmem.memory.core import Memory
    from zettelmem.models import NewNote

    with Memory(sys.argv[1]) as memory:
        for batch in range(100_000):  # runs until killed
            memory.remember_many(
                [NewNote(content=f"crash{batch:05d}n{i:02d} is one turn of a long import",
                         scope="crash", source=f"loop:{batch}/{i}") for i in range(40)],
                batch_size=16,
            )
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "MEM_EMBEDDER": "hashing"}


def _python(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _finish(proc: subprocess.Popen[bytes]) -> None:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode()


def _cli(home: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _count_notes(db: Path) -> int:
    """Committed notes, read without zettelmem (0 while the schema does not exist yet)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def _unique_word(content: str) -> str:
    """Every note these tests write has one word with digits in it, unique to that note."""
    return next(w for w in re.findall(r"\w+", content) if any(c.isdigit() for c in w))


def _assert_every_note_recallable(home: Path, expected: int | None = None) -> int:
    """Open the home as a new process would: `stats` works, and after one recall (which
    catches the indexes up from the ops log) every note is in both indexes and is the one
    BM25 match for its unique word."""
    stats = json.loads(_cli(home, "stats", "--json"))
    if expected is not None:
        assert stats["notes"] == expected
    with Memory(home) as memory:
        memory.recall("catch up")
        notes = memory.list_notes(limit=1_000_000)
        assert len(notes) == stats["notes"]
        live = memory.indexes.vectors.labels
        for note in notes:
            word = _unique_word(note.content)
            found = memory.indexes.text.search(word, Filters(), 5)
            assert [label for label, _ in found] == [note.label], f"BM25 lost {word}"
            assert note.label in live, f"the vector index lost {word}"
        assert memory.indexes.text.count() == len(notes) == len(live)
    return len(notes)


# -- (a) and (d): two writers at once, then a rebuild --------------------------------------


@pytest.fixture(scope="module")
def two_writers_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("two-writers") / "home"
    go = home.parent / "go"
    procs = [_python("-c", WRITER, str(home), name, "200", str(go)) for name in ("alpha", "beta")]
    go.touch()
    for proc in procs:
        _finish(proc)
    return home


@pytest.mark.slow
def test_two_processes_writing_at_once_lose_nothing(two_writers_home: Path) -> None:
    _assert_every_note_recallable(two_writers_home, expected=400)
    with Memory(two_writers_home) as memory:
        contents = {n.content for n in memory.list_notes(limit=1000)}
        stats = memory.stats()
    assert contents == {
        f"{prefix}{i:04d} was written by the {prefix} process"
        for prefix in ("alpha", "beta")
        for i in range(200)
    }
    assert stats["ops_head"] == 400


@pytest.mark.slow
def test_each_unique_word_recalls_its_note_first(two_writers_home: Path) -> None:
    with Memory(two_writers_home) as memory:
        missed = [
            note.content.split()[0]
            for note in memory.list_notes(limit=1000)
            if memory.recall(note.content.split()[0], k=1).hits[0].note.id != note.id
        ]
    assert missed == []


QUERIES = ["alpha0042", "beta0199", "written process", "alpha process", "beta", "nothing-here"]


def _answers(home: Path, *options: str) -> list[list[tuple[str, dict[str, float]]]]:
    return [
        [(h["id"], h["scores"]) for h in json.loads(_cli(home, "recall", q, "-k", "20", "--json",
                                                          *options))["hits"]]
        for q in QUERIES
    ]  # fmt: skip


def test_reindex_after_concurrent_writes_answers_as_before(two_writers_home: Path) -> None:
    scoped_before = _answers(two_writers_home, "--scope", "default")
    unscoped_before = _answers(two_writers_home)
    rebuilt = subprocess.run(
        [sys.executable, "-m", "zettelmem", "--home", str(two_writers_home), "reindex"],
        env=_env(), capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.decode().strip() == "reindexed 400 notes (0 re-embedded)"
    # A filtered recall scans vectors exactly, so both retrievers must answer as before.
    assert _answers(two_writers_home, "--scope", "default") == scoped_before
    # Below EXACT_LIMIT vectors are scanned exactly, so unfiltered recall must match too.
    assert _answers(two_writers_home) == unscoped_before


# -- (b) a reader sees other processes' writes without reopening ----------------------------


def test_open_reader_sees_writes_and_forgets_of_another_process(home: Path) -> None:
    with Memory(home) as reader:
        assert reader.recall("gazpacho").hits == []
        written = subprocess.run(
            [sys.executable, "-m", "zettelmem", "--home", str(home), "remember",
             "cold gazpacho recipe from Seville"],
            env=_env(), capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert written.returncode == 0, written.stderr
        note_id = written.stdout.decode().strip()
        hits = reader.recall("gazpacho").hits
        assert [h.note.id for h in hits] == [note_id]
        assert {"bm25", "vector"} <= set(hits[0].scores)
        note = reader.get(note_id)
        assert note.content == "cold gazpacho recipe from Seville"
        assert note.label in reader.indexes.vectors.labels

        forgotten = subprocess.run(
            [sys.executable, "-m", "zettelmem", "--home", str(home), "forget", note_id],
            env=_env(), capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert forgotten.returncode == 0, forgotten.stderr
        assert reader.recall("gazpacho").hits == []
        assert note_id not in {h.note.id for h in reader.recall("cold recipe Seville", k=50).hits}
        assert note.label not in reader.indexes.vectors.labels


# -- (c) SIGKILL in the middle of a large import -------------------------------------------


def _kill_when(proc: subprocess.Popen[bytes], db: Path, notes: int) -> None:
    deadline = time.monotonic() + 600  # a guard against a hung helper, not a measurement
    while _count_notes(db) < notes:
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "the import never got going"
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1, 300, 700])
def test_killed_import_loop_leaves_a_home_that_answers_for_every_committed_note(
    home: Path, kill_after: int
) -> None:
    proc = _python("-c", LOOPING_IMPORT, str(home))
    _kill_when(proc, home / "notes.db", kill_after)
    assert proc.returncode == -signal.SIGKILL
    # Count through a normal open: only a read-write connection recovers the WAL of a
    # killed writer, so a read-only peek may not show its last commit yet.
    committed = _assert_every_note_recallable(home)
    assert committed >= kill_after
    # Transactions are whole: the notes are a prefix of what the loop wrote, cut at a
    # transaction boundary (batches of 40 notes, 16 per transaction).
    with Memory(home) as memory:
        stored = sorted(n.content.split()[0] for n in memory.list_notes(limit=1_000_000))
    assert stored == [f"crash{i // 40:05d}n{i % 40:02d}" for i in range(committed)]
    assert committed % 40 in (0, 16, 32)
    # The home keeps working: a later write and a rebuild both succeed.
    _cli(home, "remember", "written after the crash, survivor001")
    _cli(home, "reindex")
    _assert_every_note_recallable(home, expected=committed + 1)


@pytest.mark.slow
def test_killed_cli_import_can_be_resumed(home: Path, write_locomo) -> None:
    sessions = [
        (f"1:56 pm on {day} May, 2023",
         [("Caroline" if t % 2 else "Melanie", f"turn{day:02d}x{t:03d} about the long trip", None)
          for t in range(150)])
        for day in range(1, 21)
    ]  # fmt: skip
    path = write_locomo({"conv-big": sessions})  # 3000 turns
    proc = subprocess.Popen(
        [sys.executable, "-m", "zettelmem", "--home", str(home), "import", str(path)],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _kill_when(proc, home / "notes.db", 1)
    committed = _assert_every_note_recallable(home)
    assert committed % 128 == 0 or committed == 3000  # whole transactions of 128
    resumed = json.loads(_cli(home, "import", str(path), "--json"))
    assert (resumed["added"], resumed["skipped"]) == (3000 - committed, committed)
    assert json.loads(_cli(home, "stats", "--json"))["notes"] == 3000


# -- a crash between the two files of a vector save ----------------------------------------


def test_crash_between_vector_graph_and_labels_save(home: Path) -> None:
    """A save replaces the graph file, then its labels file; a crash between leaves a new
    graph beside old labels (and the old state). Replaying the ops log must mend that,
    including forgets the graph has not seen."""
    labels_file, state_file = home / "vectors.hnsw.npz", home / "indexes.json"

    def remember(prefix: str) -> list[str]:
        with Memory(home) as memory:  # closing saves the vector files
            notes = [NewNote(content=f"{prefix}{i:03d} note", scope="s", source="t")
                     for i in range(300)]  # fmt: skip
            return memory.remember_many(notes).ids

    remember("first")
    old_labels, old_state = labels_file.read_bytes(), state_file.read_bytes()
    second = remember("second")
    new_graph = (home / "vectors.hnsw").read_bytes()
    with Memory(home) as memory:
        memory.forget(second[:10])
    (home / "vectors.hnsw").write_bytes(new_graph)  # has second*, not the forgets
    labels_file.write_bytes(old_labels)  # knows first* only
    state_file.write_bytes(old_state)

    assert _assert_every_note_recallable(home, expected=590) == 590
    with Memory(home) as memory:
        memory.recall("catch up")
        for content in (f"second{i:03d} note" for i in range(10)):
            # Forgotten vectors are gone from the graph, not just from the live set.
            [(label, similarity)] = memory.indexes.vectors.search(
                memory.embedder.embed([content])[0], 1
            )
            assert similarity < 0.99, f"the vector of forgotten {content!r} is still searchable"
