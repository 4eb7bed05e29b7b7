"""Property-based: whatever arguments a CLI command or an MCP tool gets, the answer is a
success or one line saying what is wrong (never a traceback), and the home still opens
and answers afterwards; an import that fails changes nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from zettelmem.cli.main import cli
from zettelmem.memory.core import Memory
from zettelmem.server.mcp import build_server

pytestmark = pytest.mark.usefixtures("offline_env")
FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip

texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF,
                                   exclude_categories=("Cs",)), max_size=20),
    st.sampled_from(["", " ", "\x00", "../x", "a b", "*", "-", "0001-01-01T00:00:00+01:00",
                     "9999-12-31T23:59:59-05:00", "0999-06-01", "not a date", "x" * 300,
                     "/proc/x", "/sys/x", str(10**30), "-1", "0", "nan", "inf"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)  # fmt: skip
OPTIONS = ["--scope", "--tag", "--at", "--since", "--until", "--as-of", "--limit", "-k",
           "--kind", "--weight", "--format", "--source", "--query"]  # fmt: skip
COMMANDS = [["remember"], ["recall"], ["forget"], ["show"], ["list"], ["stats"], ["links"],
            ["link"], ["history"], ["revert"], ["reflect"], ["graph"], ["review"],
            ["review", "approve"], ["review", "reject"], ["export"], ["import"],
            ["config", "get"], ["config", "set"], ["doctor"]]  # fmt: skip


def _argv(draw: Any) -> list[str]:
    command = list(draw(st.sampled_from(COMMANDS)))
    args = draw(st.lists(texts, max_size=3))
    for _ in range(draw(st.integers(0, 2))):
        args += [draw(st.sampled_from(OPTIONS)), draw(texts)]
    return command + args


@pytest.fixture
def seeded(home: Path) -> Path:
    runner = CliRunner()
    runner.invoke(cli, ["--home", str(home), "remember", "a seed note about herons"])
    return home


def _sane(home: Path, tmp: Path, argv: list[str]) -> None:
    here = os.getcwd()
    os.chdir(tmp)  # relative paths (an export's DEST) land in tmp
    try:
        result = CliRunner().invoke(cli, ["--home", str(home), *argv], catch_exceptions=True)
    finally:
        os.chdir(here)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"mem {argv!r} raised {result.exception!r}")
    assert "Traceback" not in result.stderr
    if result.exit_code != 0:
        lines = result.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("Error: "), (argv, result.stderr)
        assert len([x for x in lines if x.startswith("Error: ")]) == 1
    after = CliRunner().invoke(cli, ["--home", str(home), "recall", "herons", "--json"])
    assert after.exit_code == 0, (argv, after.stderr)
    assert json.loads(after.stdout)["hits"], argv


@FAST
@given(data=st.data())
def test_every_cli_command_answers_or_says_one_line(seeded: Path, tmp_path: Path, data) -> None:
    _sane(seeded, tmp_path, _argv(data.draw))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), texts,
              st.floats(allow_nan=True, allow_infinity=True)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6,
)  # fmt: skip
TOOL_ARGS = {
    "remember": ["content", "tags", "scope", "source", "event_at", "keep_secrets"],
    "recall": ["query", "k", "scope", "tags", "since", "until", "include_superseded"],
    "forget": ["ids", "query", "scope", "confirm"],
    "get_note": ["id"],
    "reflect": ["topic", "scope"],
    "link": ["from_id", "to_id", "kind"],
    "review": ["scope"],
}


@FAST
@given(data=st.data())
def test_every_mcp_tool_answers_or_returns_a_tool_error(seeded: Path, data) -> None:
    name = data.draw(st.sampled_from(sorted(TOOL_ARGS)))
    keys = data.draw(st.lists(st.sampled_from(TOOL_ARGS[name]), unique=True, max_size=4))
    args = {k: data.draw(json_values) for k in keys}
    server = build_server(Memory(seeded, embedder="hashing"))

    async def main() -> None:
        async with Client(server) as client:
            try:
                result = await client.call_tool(name, args)
            except Exception as exc:  # a protocol-level refusal of ill-typed arguments
                assert "Traceback" not in str(exc)
                return
            if result.is_error:
                text = " ".join(getattr(b, "text", "") for b in result.content)
                assert "Traceback" not in text and text.strip(), text
            hits = await client.call_tool("recall", {"query": "herons", "scope": "*"})
            assert not hits.is_error and hits.structured_content["hits"]

    try:
        anyio.run(main)
    finally:
        server.close()


def _state(home: Path) -> tuple[int, int]:
    with Memory(home, embedder="hashing") as memory:
        stats = memory.stats()
        return int(stats["notes"]), int(stats["ops_head"])  # type: ignore[call-overload]


GOOD_CHAT = [{"role": "user", "content": "hello heron"},
             {"role": "assistant", "content": "hello back"}]  # fmt: skip


def _mutations(draw: Any) -> str:
    kind = draw(st.sampled_from(["jsonl", "array", "export", "chatgpt"]))
    if kind == "jsonl":
        body = "\n".join(json.dumps(r) for r in GOOD_CHAT) + "\n"
    elif kind == "array":
        body = json.dumps(GOOD_CHAT)
    elif kind == "chatgpt":
        body = json.dumps([{"id": "c1", "title": "t", "mapping": {"a": {"id": "a", "message": {
            "author": {"role": "user"}, "content": {"parts": ["hi heron"]}}, "parent": None,
            "children": []}}, "current_node": "a"}])  # fmt: skip
    else:
        body = (
            "\n".join(
                json.dumps(x)
                for x in [
                    {"type": "header", "format": "zettelmem-export", "version": 1},
                    {
                        "type": "note",
                        "id": "01hgood000000001",
                        "content": "x",
                        "created_at": "2024-01-01T00:00:00",
                        "event_at": None,
                        "scope": "default",
                        "source": "cli",
                        "keywords": [],
                        "tags": [],
                        "context": "",
                        "status": "active",
                        "dedupe_key": None,
                    },
                    {"type": "end", "notes": 1, "links": 0, "changes": 0, "verdicts": 0},
                ]
            )
            + "\n"
        )
    how = draw(st.sampled_from(["truncate", "insert", "nest", "retype", "none"]))
    at = draw(st.integers(0, max(0, len(body) - 1)))
    if how == "truncate":
        body = body[:at]
    elif how == "insert":
        body = body[:at] + draw(texts) + body[at:]
    elif how == "nest":
        body = body[:at] + "[" * 3000 + "]" * 3000 + body[at:]
    elif how == "retype":
        body = body.replace('"hello heron"', json.dumps(draw(json_values)))
    return body


@FAST
@given(data=st.data())
def test_an_import_that_fails_changes_nothing(seeded: Path, tmp_path: Path, data) -> None:
    path = tmp_path / "input.json"
    path.write_text(_mutations(data.draw), encoding="utf-8")
    before = _state(seeded)
    result = CliRunner().invoke(cli, ["--home", str(seeded), "import", str(path)],
                                catch_exceptions=True)  # fmt: skip
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"import raised {result.exception!r}")
    if result.exit_code != 0:
        assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1
        assert _state(seeded) == before
