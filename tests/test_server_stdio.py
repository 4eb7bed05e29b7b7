"""`mem serve` over stdio, in a real subprocess, driven by the SDK's stdio client.

A hundred notes recalled each by its unique word, nothing but protocol on
stdout, and a server and CLI processes on one home seeing each other's writes.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult

pytestmark = pytest.mark.usefixtures("offline_env")


def server_params(home: Path, *args: str, **env: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "zettelmem", "--home", str(home), "serve", *args],
        env={"MEM_EMBEDDER": "hashing", **env},
    )


def data(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    return result.structured_content


def unique_words(count: int) -> list[str]:
    rng = random.Random(4)
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(string.ascii_lowercase) for _ in range(9)))
    return sorted(words)


def mem(home: Path, *args: str) -> Any:
    """A separate `mem` process on the same home; returns its --json output."""
    out = subprocess.run(
        [sys.executable, "-m", "zettelmem", "--home", str(home), *args, "--json"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "MEM_EMBEDDER": "hashing"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
def test_stdio_client_remembers_100_notes_and_recalls_each(home: Path) -> None:
    words = unique_words(100)
    themes = ["the garden", "a train trip", "the budget", "a birthday", "the new job"]

    async def main() -> None:
        env_scope = "proj-x"  # the default scope comes from MEM_SCOPE here
        async with Client(server_params(home, MEM_SCOPE=env_scope)) as client:
            ids = {}
            for i, word in enumerate(words):
                content = f"Note {i} about {themes[i % len(themes)]}, codeword {word}."
                note = data(await client.call_tool("remember", {"content": content}))
                assert note["scope"] == env_scope and note["created"]
                ids[word] = note["id"]
            for word in words:
                hits = data(await client.call_tool("recall", {"query": word, "k": 3}))["hits"]
                assert hits and hits[0]["id"] == ids[word], word
            stats = json.loads((await client.read_resource("memory://stats")).contents[0].text)  # type: ignore[union-attr]
            assert stats["notes"] == 100 and stats["scopes"] == {env_scope: 100}

    anyio.run(main)


def test_server_and_cli_processes_share_one_home(home: Path) -> None:
    async def main() -> None:
        async with Client(server_params(home)) as client:
            # CLI writes, the running server sees it at once.
            cli_id = mem(home, "remember", "the spare key hides under the blue flowerpot")["id"]
            hits = data(await client.call_tool("recall", {"query": "spare key flowerpot"}))["hits"]
            assert hits and hits[0]["id"] == cli_id
            # The server writes, a fresh CLI process sees it.
            args = {"content": "the wifi password is on the fridge"}
            server_id = data(await client.call_tool("remember", args))["id"]
            listed = mem(home, "recall", "wifi password fridge")["hits"]
            assert listed and listed[0]["id"] == server_id
            # A forget in the CLI is seen by the server, and the other way round.
            mem(home, "forget", cli_id)
            text = (await client.call_tool("get_note", {"id": cli_id})).content[0]
            assert "no note with id" in getattr(text, "text", "")
            data(await client.call_tool("forget", {"ids": [server_id]}))
            assert mem(home, "list")["notes"] == []

    anyio.run(main)


def _rpc(method: str, params: dict[str, Any], msg_id: int | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if msg_id is not None:
        message["id"] = msg_id
    return (json.dumps(message) + "\n").encode()


def test_stdio_stdout_carries_nothing_but_protocol(home: Path) -> None:
    hello = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    }
    requests = [
        ("initialize", hello),
        ("tools/list", {}),
        ("tools/call", {"name": "remember", "arguments": {"content": "raw stdio note"}}),
        ("tools/call", {"name": "get_note", "arguments": {"id": "nope"}}),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "zettelmem", "--home", str(home), "serve", "--scope", "s1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "MEM_EMBEDDER": "hashing"},
    )  # fmt: skip
    assert proc.stdin and proc.stdout
    lines: list[bytes] = []
    try:
        for msg_id, (method, params) in enumerate(requests, 1):
            proc.stdin.write(_rpc(method, params, msg_id))
            if method == "initialize":
                proc.stdin.write(_rpc("notifications/initialized", {}))
            proc.stdin.flush()
            lines.append(proc.stdout.readline())  # one response per request, in order
        proc.stdin.close()
        lines.extend(proc.stdout.read().splitlines())  # anything printed on the way out
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    messages = [json.loads(line) for line in lines if line.strip()]  # every line is JSON-RPC
    assert all(m["jsonrpc"] == "2.0" for m in messages)
    by_id = {m["id"]: m for m in messages}
    assert list(by_id) == [1, 2, 3, 4]
    assert by_id[1]["result"]["serverInfo"]["name"] == "zettelmem"
    assert {t["name"] for t in by_id[2]["result"]["tools"]} >= {"remember", "recall"}
    note = by_id[3]["result"]["structuredContent"]
    assert note["scope"] == "s1" and note["source"] == "mcp:raw"  # --scope; the client's name
    assert by_id[4]["result"]["isError"] is True


def test_a_lone_surrogate_escape_is_served_as_a_replacement_character(home: Path) -> None:
    """JavaScript writes half an emoji as a lone surrogate escape ("\\ud83d"): valid JSON,
    which the SDK's parser refuses. Such a request is answered, the half emoji read as
    U+FFFD, and stdout still carries nothing but protocol."""
    broken = "\ud83d"  # json.dumps writes it as the escape \ud83d
    hello = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": f"raw {broken}", "version": "0"},
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "zettelmem", "--home", str(home), "serve"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "MEM_EMBEDDER": "hashing"},
    )  # fmt: skip
    assert proc.stdin and proc.stdout

    def ask(*lines: bytes) -> dict[str, Any]:
        assert proc.stdin and proc.stdout
        proc.stdin.write(b"".join(lines))
        proc.stdin.flush()
        answer: dict[str, Any] = json.loads(proc.stdout.readline())
        return answer

    try:
        # `initialize` is served before the next line is read, so the ping's answer comes
        # second; a dropped `initialize` would leave the ping's answer first.
        first = ask(_rpc("initialize", hello, 1), _rpc("ping", {}, 2))
        assert first.get("id") == 1, first
        assert first["result"]["serverInfo"]["name"] == "zettelmem"
        assert json.loads(proc.stdout.readline())["id"] == 2
        proc.stdin.write(_rpc("notifications/initialized", {}))
        content = f"the cake had a candle shaped like a rocket {broken}"
        stored = ask(_rpc("tools/call", {"name": "remember", "arguments": {"content": content}}, 3))
        assert stored["id"] == 3 and not stored["result"]["isError"], stored
        note = stored["result"]["structuredContent"]
        assert note["content"] == "the cake had a candle shaped like a rocket \ufffd"
        query = {"name": "recall", "arguments": {"query": f"rocket candle {broken}"}}
        found = ask(_rpc("tools/call", query, 4))
        assert found["id"] == 4 and not found["result"]["isError"], found
        assert [h["id"] for h in found["result"]["structuredContent"]["hits"]][:1] == [note["id"]]
        proc.stdin.close()
        rest = proc.stdout.read().splitlines()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    assert rest == []  # nothing after the answers, on the way out


def test_the_stdio_server_runs_as_the_sdk_does_but_for_the_repaired_lines() -> None:
    """`MemoryServer.run_stdio_async` copies the SDK's own, with the read stream wrapped: if
    the SDK changes how it serves stdio, bring the copy in line and update this test."""
    import inspect
    import textwrap

    from mcp.server.mcpserver import MCPServer

    body = textwrap.dedent(inspect.getsource(MCPServer.run_stdio_async))
    code = " ".join(body.split('"""')[-1].split())  # after the docstring, one space apart
    assert code == (
        "async with stdio_server() as (read_stream, write_stream): "
        "await self._lowlevel_server.run( read_stream, write_stream, "
        "self._lowlevel_server.create_initialization_options(), )"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"jsonrpc": "2.0", "id": 7, "method": "ping", "params": {"a": "x \\ud83d"}}', "x \ufffd"),
        ('{"jsonrpc": "2.0", "id": 7, "method": "ping", "params": {"a": "\\udc00y"}}', "\ufffdy"),
        # a whole pair is one character; a low half before a high one is two halves
        ('{"jsonrpc": "2.0", "id": 7, "method": "ping", "params": {"a": "\\ude00\\ud83d"}}',
         "\ufffd\ufffd"),
    ],
)  # fmt: skip
def test_a_line_refused_for_a_lone_surrogate_is_read_with_a_replacement(
    line: str, expected: str
) -> None:
    from mcp_types import jsonrpc_message_adapter
    from pydantic import ValidationError

    from zettelmem.server.stdio import repaired

    # What the SDK's stdio transport does with a line (and hands on when it fails).
    with pytest.raises(ValidationError) as refused:
        jsonrpc_message_adapter.validate_json(line, by_name=False)
    item = repaired(refused.value)
    message = getattr(item, "message", None)
    assert message is not None, item
    assert message.id == 7 and message.params == {"a": expected}


@pytest.mark.parametrize(
    "line",
    [
        '{"jsonrpc": "2.0", "id": 7, "method": "ping"',  # cut short
        '{"jsonrpc": "2.0", "id": 7, "method": "ping", "params": {"a": "\\ud83d\\ude00"}, }',
        '{"jsonrpc": "1.0", "id": 7, "method": "ping", "params": {"a": "\\ud83d"}}',
    ],
)
def test_a_line_refused_for_anything_else_stays_refused(line: str) -> None:
    from mcp_types import jsonrpc_message_adapter
    from pydantic import ValidationError

    from zettelmem.server.stdio import repaired

    with pytest.raises(ValidationError) as refused:
        jsonrpc_message_adapter.validate_json(line, by_name=False)
    assert isinstance(repaired(refused.value), ValidationError)
