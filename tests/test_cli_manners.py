"""What a new user meets at the shell: help, option order, empty answers, id prefixes,
stdin, the default scope, completion, client snippets, a read-only home, permissions."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import MemCli
from zettelmem.cli.main import cli

pytestmark = pytest.mark.usefixtures("offline_env")


def _run(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None):
    runner = CliRunner(env=env)
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


# -- help, option order, typo hints -----------------------------------------------------


def test_dash_h_is_help_for_the_group_and_a_command() -> None:
    top = _run("-h")
    assert top.exit_code == 0 and "Usage: " in top.stdout and "recall" in top.stdout
    sub = _run("recall", "-h")
    assert sub.exit_code == 0 and "QUERY" in sub.stdout


def test_home_is_accepted_after_the_command(mem: MemCli) -> None:
    note_id = mem.remember("the kettle lives in the left cupboard")
    result = _run("recall", "kettle", "--home", str(mem.home), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["hits"][0]["id"] == note_id
    equals = _run("show", note_id, f"--home={mem.home}")
    assert equals.exit_code == 0 and "left cupboard" in equals.stdout


def test_text_after_a_double_dash_is_never_taken_for_home(mem: MemCli) -> None:
    out = mem.ok("remember", "--json", "--", "--home").stdout
    assert json.loads(out)["content"] == "--home"


def test_a_typo_gets_a_readable_hint(mem: MemCli) -> None:
    result = mem("recal", "x")
    assert result.exit_code != 0
    line = result.stderr.strip()
    assert line.startswith("Error: ") and "?;" not in line
    assert "did you mean 'recall'?" in line.lower() and " --help`" in line


# -- empty answers say so -----------------------------------------------------------------


def test_recall_on_an_empty_store_says_it_is_empty(mem: MemCli) -> None:
    result = mem.ok("recall", "anything at all")
    assert result.stdout == ""
    assert "empty" in result.stderr and "mem remember" in result.stderr


def test_recall_never_pads_with_zero_score_hits(mem: MemCli) -> None:
    mem.remember("Project Falcon uses PostgreSQL 16 for its billing database")
    mem.remember("I switched my editor from VS Code to Helix last spring")
    for i in range(6):
        mem.remember(f"zqx{i} wvb{i} kjh{i}")
    hits = mem.json("recall", "what editor do I use?", "-k", "10")["hits"]
    assert hits, "the editor note matches"
    assert all(h["score"] > 0 for h in hits)
    shown = mem.ok("recall", "what editor do I use?", "-k", "10").stdout
    assert " 0.000 " not in shown


def test_list_and_links_say_when_there_is_nothing(mem: MemCli) -> None:
    empty = mem.ok("list")
    assert empty.stdout == "" and "no notes" in empty.stderr
    note_id = mem.remember("a lonely note about lighthouses")
    lonely = mem.ok("links", note_id)
    assert lonely.stdout == "" and "no links" in lonely.stderr


def test_reflect_says_why_nothing_qualified(mem: MemCli) -> None:
    mem.remember("a lonely note about lighthouses")
    result = mem.ok("reflect")
    assert "0 created" in result.stderr
    assert "no cluster" in result.stderr and "related" in result.stderr


# -- ids, stdin, tags, default scope, completion -------------------------------------------


def test_a_unique_id_prefix_works_like_the_id(mem: MemCli) -> None:
    note_id = mem.remember("the spare key is under the blue flowerpot")
    for prefix in (note_id[:8], note_id[:12]):
        assert mem.json("show", prefix)["id"] == note_id
    assert mem.json("links", note_id[:10])["id"] == note_id


def test_an_ambiguous_or_short_prefix_is_one_error_line(mem: MemCli) -> None:
    ids = [mem.remember(f"note number {i} about rivers") for i in range(40)]
    shared = os.path.commonprefix(ids[:2])
    ambiguous = mem("show", shared) if len(shared) >= 4 else None
    if ambiguous is not None and sum(i.startswith(shared) for i in ids) > 1:
        assert ambiguous.exit_code != 0 and "ambiguous" in ambiguous.stderr
        # it names some of the notes the prefix fits, so the next try can be exact
        assert sum(i in ambiguous.stderr for i in ids if i.startswith(shared)) >= 2
    short = mem("show", ids[0][:3])
    assert short.exit_code != 0 and short.stderr.startswith("Error: ")
    assert "a prefix needs at least 4 characters" in short.stderr


def test_forget_takes_a_unique_prefix(mem: MemCli) -> None:
    note_id = mem.remember("forget me by my prefix")
    assert mem.json("forget", note_id[:9])["forgotten"] == [note_id]


def test_import_dash_reads_stdin(mem: MemCli) -> None:
    lines = [
        {"role": "user", "content": "My sister Lena lives in Porto."},
        {"role": "assistant", "content": "Noted: Lena lives in Porto."},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\n"
    out = mem.json("import", "-", input=text.encode("utf-8"))
    assert out["added"] == 2 and out["format"] == "jsonl"
    assert mem.top_id("Porto") is not None


def test_a_hash_before_a_tag_is_dropped(mem: MemCli) -> None:
    note = mem.json("remember", "Flight to Oslo on Friday", "--tag", "#travel")
    assert note["tags"][0] == "travel"
    hits = mem.json("recall", "Oslo", "--tag", "#travel")["hits"]
    assert [h["id"] for h in hits] == [note["id"]]


def test_a_tag_is_one_tag_whatever_its_case_at_every_door(mem: MemCli, tmp_path: Path) -> None:
    flight = mem.json("remember", "Flight to Oslo booked for March", "--tag", "#Travel")
    assert flight["tags"][0] == "travel"
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "hotel.md").write_text("Hotel near Oslo central station #Travel\n")
    mem.ok("import", str(vault))
    tags = {n["content"]: n["tags"] for n in mem.json("list")["notes"]}
    assert tags["Flight to Oslo booked for March"][0] == "travel"
    assert tags["Hotel near Oslo central station #Travel"][0] == "travel"
    for given in ("Travel", "travel", "#TRAVEL"):
        hits = mem.json("recall", "Oslo", "--tag", given)["hits"]
        assert len(hits) == 2, given
    # a dotted capital I and a decomposed accent fold to the letters a user types
    trip = mem.json("remember", "Ferry across the Bosphorus", "--tag", "İstanbul",
                    "--tag", "Cafe\u0301")  # fmt: skip
    assert trip["tags"] == ["istanbul", "caf\u00e9"]
    assert len(mem.json("recall", "ferry", "--tag", "istanbul")["hits"]) == 1
    assert len(mem.json("recall", "ferry", "--tag", "#İSTANBUL")["hits"]) == 1


def test_mem_scope_sets_the_cli_default_scope(mem: MemCli, monkeypatch: pytest.MonkeyPatch) -> None:
    mem.remember("outside the project: buy oat milk")
    monkeypatch.setenv("MEM_SCOPE", "project-x")
    inside = mem.json("remember", "inside the project: the deploy is on Tuesday")
    assert inside["scope"] == "project-x"
    hits = mem.json("recall", "project")["hits"]
    assert [h["id"] for h in hits] == [inside["id"]]
    assert [n["id"] for n in mem.json("list")["notes"]] == [inside["id"]]
    assert mem.json("remember", "explicit", "--scope", "other")["scope"] == "other"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(shell: str) -> None:
    result = _run("completion", shell)
    assert result.exit_code == 0, result.stderr
    assert "_MEM_COMPLETE" in result.stdout
    assert len(result.stdout.splitlines()) > 3


# -- client snippets with the full path ---------------------------------------------------


@pytest.mark.parametrize("client", ["claude-desktop", "cursor", "vscode"])
def test_mcp_config_prints_json_with_the_running_executable_and_home(
    client: str, home: Path
) -> None:
    result = _run("--home", str(home), "mcp-config", client)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    servers = doc["servers"] if client == "vscode" else doc["mcpServers"]
    entry = servers["zettelmem"]
    assert Path(entry["command"]).is_absolute() and Path(entry["command"]).exists()
    assert entry["args"][-1] == "serve"
    assert entry["env"]["MEM_HOME"] == str(home.resolve())
    if client == "vscode":
        assert entry["type"] == "stdio"


def test_mcp_config_for_claude_code_is_a_command_line(home: Path) -> None:
    result = _run("--home", str(home), "mcp-config", "claude-code")
    assert result.exit_code == 0
    line = result.stdout.strip()
    assert line.startswith("claude mcp add") and f"MEM_HOME={home.resolve()}" in line
    assert line.endswith(" serve")


def test_mcp_config_carries_the_store_it_was_given(home: Path, monkeypatch) -> None:
    # Without it, the server the client starts would write to the home, not the database.
    url = "postgresql://mem@db.example:5432/memory"
    result = _run("--home", str(home), "--store", url, "mcp-config", "cursor")
    assert result.exit_code == 0, result.stderr
    env = json.loads(result.stdout)["mcpServers"]["zettelmem"]["env"]
    assert env["MEM_STORE"] == url and env["MEM_HOME"] == str(home.resolve())
    assert result.stderr == ""
    monkeypatch.setenv("MEM_STORE", "postgresql://mem:s3cret@db.example/memory")
    result = _run("--home", str(home), "mcp-config", "claude-code")
    assert "MEM_STORE=postgresql://mem:s3cret@db.example/memory" in result.stdout
    assert "holds the database password" in result.stderr


def test_mcp_config_runs_the_same_mem_as_the_one_running() -> None:
    result = _run("mcp-config", "cursor")
    entry = json.loads(result.stdout)["mcpServers"]["zettelmem"]
    command = [entry["command"], *entry["args"][:-1], "--version"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "mem" in done.stdout


# -- a read-only home ---------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
def test_a_read_only_home_reads_and_refuses_writes(mem: MemCli) -> None:
    note_id = mem.remember("the boat is moored at pier 7")
    paths = [mem.home, *mem.home.rglob("*")]
    modes = {p: p.stat().st_mode for p in paths}
    try:
        for p in sorted(paths, key=lambda p: -len(p.parts)):
            p.chmod(stat.S_IMODE(modes[p]) & ~0o222)
        assert mem.json("recall", "boat")["hits"][0]["id"] == note_id
        assert mem.json("stats")["notes"] == 1
        assert mem.json("list")["notes"][0]["id"] == note_id
        assert mem.json("show", note_id)["id"] == note_id
        refused = mem("remember", "a new note")
        assert refused.exit_code != 0
        assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("Error: ")
        assert "read-only" in refused.stderr
    finally:
        for p in paths:
            p.chmod(stat.S_IMODE(modes[p]))


# -- a private home -----------------------------------------------------------------------


def test_a_new_home_is_private(mem: MemCli) -> None:
    mem.remember("my bank's sort code is written in the red notebook")
    assert stat.S_IMODE(mem.home.stat().st_mode) == 0o700
    for p in mem.home.rglob("*"):
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode & 0o077 == 0, f"{p} is {oct(mode)}"


def test_an_open_home_gets_a_warning(mem: MemCli) -> None:
    mem.home.mkdir(parents=True)
    mem.home.chmod(0o755)
    result = mem.ok("stats")
    assert "Warning:" in result.stderr and "chmod 700" in result.stderr


# -- start-up imports ---------------------------------------------------------------------

HEAVY = ("numpy", "tantivy", "hnswlib", "networkx", "pydantic", "onnxruntime")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["path"], ["config"]])
def test_light_commands_do_not_import_the_core(args: list[str], tmp_path: Path) -> None:
    code = (
        "import sys\nfrom zettelmem.cli.main import main\nsys.argv = ['mem', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in " + repr(HEAVY) + " if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    env = {**os.environ, "MEM_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    line = [x for x in done.stderr.splitlines() if x.startswith("HEAVY=")]
    assert line == ["HEAVY="], done.stderr


def test_remember_and_recall_printing_lines_do_not_import_pydantic(tmp_path: Path) -> None:
    # pydantic (the JSON schemas, the LLM backends' answer models) costs ~0.3 s of every
    # start; only --json output and an LLM need it.
    code = (
        "import sys\nfrom zettelmem.cli.main import main\n"
        "for args in (['remember', 'otters hold hands while sleeping'], ['recall', 'otters'],"
        " ['recall', 'nothing like it', '--scope', 'other']):\n"
        "    sys.argv = ['mem', *args]\n"
        "    try:\n        main()\n    except SystemExit as exc:\n        assert not exc.code\n"
        "print('PYDANTIC=' + str('pydantic' in sys.modules), file=sys.stderr)\n"
    )
    env = {**os.environ, "MEM_HOME": str(tmp_path / "home"), "MEM_EMBEDDER": "hashing"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip
    assert "otters hold hands" in done.stdout, done.stderr
    assert "PYDANTIC=False" in done.stderr.splitlines(), done.stderr


def test_a_home_opened_read_only_reads_and_refuses_writes(
    mem: MemCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    note_id = mem.remember("the boat is moored at pier 7")
    before = {p: p.stat().st_mtime_ns for p in mem.home.rglob("*") if p.is_file()}
    monkeypatch.setenv("MEM_READ_ONLY", "1")
    assert mem.json("recall", "boat")["hits"][0]["id"] == note_id
    assert mem.json("stats")["notes"] == 1
    assert mem.json("list")["notes"][0]["id"] == note_id
    assert mem.json("show", note_id)["id"] == note_id
    refused = mem("remember", "a new note")
    assert refused.exit_code != 0
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("Error: ")
    assert "read-only" in refused.stderr
    assert mem("forget", note_id).exit_code != 0
    after = {p: p.stat().st_mtime_ns for p in mem.home.rglob("*") if p.is_file()}
    assert after == before  # nothing written, not even the indexes' state


def test_a_bad_scope_from_the_environment_names_mem_scope(mem: MemCli, monkeypatch) -> None:
    monkeypatch.setenv("MEM_SCOPE", "bad scope")
    result = mem("recall", "anything")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: MEM_SCOPE: invalid scope 'bad scope'")
    assert not mem.home.exists()  # refused before the home is made
    monkeypatch.delenv("MEM_SCOPE")
    flag = mem("import", "-", "--scope", "my chats", input=b"hello there")
    assert flag.exit_code == 2 and "invalid scope 'my chats'" in flag.stderr
    assert "MEM_SCOPE" not in flag.stderr and not mem.home.exists()


def test_a_refused_import_leaves_no_home_behind(mem: MemCli, tmp_path) -> None:
    cut = tmp_path / "cut.json"
    cut.write_text('[{"mapping": {', encoding="utf-8")
    result = mem("import", str(cut))
    assert result.exit_code == 2 and "ends early" in result.stderr
    assert not mem.home.exists()


def test_a_home_opened_read_only_refuses_to_change_a_setting(
    mem: MemCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    mem.remember("the boat is moored at pier 7")
    mem.ok("config", "set", "guard", "flag")
    config = mem.home / "config.json"
    before = config.read_bytes()
    monkeypatch.setenv("MEM_READ_ONLY", "1")
    refused = mem("config", "set", "guard", "quarantine")
    assert refused.exit_code == 4
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("Error: home ")
    # the same words as a refused note
    assert refused.stderr == mem("remember", "a new note").stderr
    assert refused.stdout == ""
    assert config.read_bytes() == before
    assert sorted(p.name for p in mem.home.iterdir() if p.name.startswith(".config")) == []
    assert mem.ok("config", "get", "guard").stdout == "flag\n"
    # a token lives in the record: refused with the same line
    token = mem("token", "create", "reader", "--grant", "default:r")
    assert token.exit_code == 4 and token.stderr == refused.stderr
    monkeypatch.delenv("MEM_READ_ONLY")
    assert mem.ok("config", "set", "guard", "quarantine").stdout == "guard = quarantine\n"
