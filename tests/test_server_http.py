"""`mem serve --http` in a real subprocess on a free loopback port.

The SDK's streamable HTTP client, the bearer token, Host/Origin checks
against DNS rebinding, the request size bound (with httpx), and 8 concurrent
clients making 50 mixed calls each with nothing lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import CallToolResult

from served import stop, wait_for_url

httpx = pytest.importorskip("httpx")

TOKEN = "test-token-5f2c"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "httpx", "version": "0"},
    },
}


class Served:
    def __init__(self, home: Path, url: str) -> None:
        self.home = home
        self.url = url

    def client(self, token: str | None = TOKEN) -> Client:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        http = create_mcp_http_client(headers=headers)
        return Client(streamable_http_client(self.url, http_client=http))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("http") / "home"
    log = home.parent / "server.log"
    env = {**os.environ, "MEM_EMBEDDER": "hashing", "MEM_TOKEN": TOKEN}
    env.pop("MEM_HOME", None)
    with log.open("wb") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zettelmem", "--home", str(home), "serve", "--http",
             "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, env=env,
        )  # fmt: skip
    try:
        url = wait_for_url(proc, log)
        yield Served(home, url)
    finally:
        stop(proc)
    assert proc.stdout is not None
    assert proc.stdout.read() == b"", "mem serve --http wrote to stdout"
    proc.stdout.close()


def data(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    return result.structured_content


def test_binds_loopback_by_default(served: Served) -> None:
    assert served.url.startswith("http://127.0.0.1:") and served.url.endswith("/mcp")


def test_streamable_http_client_calls_the_tools(served: Served) -> None:
    async def main() -> None:
        async with served.client() as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == {"remember", "recall", "forget", "get_note", "reflect", "link",
                             "review"}  # fmt: skip
            args = {"content": "the boiler service is due in October", "tags": ["house"]}
            note = data(await client.call_tool("remember", args))
            hits = data(await client.call_tool("recall", {"query": "boiler service"}))["hits"]
            assert hits[0]["id"] == note["id"] and hits[0]["tags"] == ["house"]

    anyio.run(main)


def test_a_client_without_the_token_is_turned_away(served: Served) -> None:
    async def main() -> None:
        async with served.client(token="wrong") as client:
            await client.list_tools()

    # The SDK reports the 401 as a generic error response (the status is checked below).
    with pytest.raises(Exception, match="unhandled errors|error response"):
        anyio.run(main)


def test_token_host_origin_and_size_checks(served: Served) -> None:
    body = json.dumps(INITIALIZE)
    host = served.url.split("/")[2]
    with httpx.Client(timeout=30) as http:

        def post(headers: dict[str, str], content: str | bytes = body) -> Any:
            return http.post(served.url, content=content, headers={**JSON_HEADERS, **headers})

        assert post({}).status_code == 401
        assert post({"Authorization": "Bearer nope"}).status_code == 401
        assert post({"Authorization": TOKEN}).status_code == 401
        assert post({**AUTH, "Host": "evil.example"}).status_code == 421
        assert post({**AUTH, "Host": f"attacker.example:{host.split(':')[1]}"}).status_code == 421
        assert post({**AUTH, "Origin": "http://evil.example"}).status_code == 403
        big = json.dumps({**INITIALIZE, "padding": "x" * (1024 * 1024)})
        assert post(AUTH, big).status_code == 413
        ok = post({**AUTH, "Origin": f"http://{host}"})
        assert ok.status_code == 200, ok.text
        assert "zettelmem" in ok.text


@pytest.mark.slow
def test_eight_clients_fifty_mixed_calls_lose_nothing(served: Served) -> None:
    kept: dict[str, str] = {}
    forgotten: set[str] = set()

    async def one(n: int) -> None:
        mine: list[tuple[str, str]] = []
        async with served.client() as client:
            for i in range(50):
                if i % 5 == 0:  # 10 writes
                    word = f"w{n}x{i}q"
                    content = f"client {n} call {i} stores the marker {word}"
                    note = data(await client.call_tool("remember", {"content": content}))
                    mine.append((note["id"], word))
                    kept[note["id"]] = word
                elif i % 10 == 9:  # 5 forgets of this client's oldest note
                    victim, _ = mine.pop(0)
                    done = data(await client.call_tool("forget", {"ids": [victim]}))
                    assert done["forgotten"] == [victim]
                    forgotten.add(victim)
                    del kept[victim]
                elif i % 2:  # recall one of this client's live notes by its word
                    note_id, word = mine[-1]
                    hits = data(await client.call_tool("recall", {"query": word, "k": 3}))["hits"]
                    assert hits and hits[0]["id"] == note_id, (n, i, word)
                else:
                    note_id, word = mine[0]
                    assert (
                        data(await client.call_tool("get_note", {"id": note_id}))["id"] == note_id
                    )

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for n in range(8):
                tg.start_soon(one, n)

    anyio.run(main)
    assert len(kept) == 8 * 5 and len(forgotten) == 8 * 5
    # A separate CLI process on the same home sees exactly the surviving notes.
    out = subprocess.run(
        [sys.executable, "-m", "zettelmem", "--home", str(served.home), "list", "--limit",
         "100000", "--json"],
        capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "MEM_EMBEDDER": "hashing"},
    )  # fmt: skip
    listed = {n["id"] for n in json.loads(out.stdout)["notes"] if "marker" in n["content"]}
    assert listed == set(kept)


@pytest.mark.parametrize(("extra", "warned"), [([], True), (["--allow-host", "mem.lan"], False)])
def test_a_wildcard_bind_without_allowed_names_says_remote_clients_get_421(
    tmp_path: Path, extra: list[str], warned: bool
) -> None:
    log = tmp_path / "serve.log"
    env = {**os.environ, "MEM_EMBEDDER": "hashing", "MEM_TOKEN": TOKEN}
    env.pop("MEM_HOME", None)
    with log.open("wb") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zettelmem", "--home", str(tmp_path / "h"), "serve",
             "--http", "--host", "0.0.0.0", "--port", "0", *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors, env=env,
        )  # fmt: skip
    try:
        wait_for_url(proc, log)
        deadline = time.monotonic() + 3  # the line after the URL's, or none
        while "get 421" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        said = log.read_text()
        assert ("get 421 until you add --allow-host" in said) is warned, said
    finally:
        stop(proc)
