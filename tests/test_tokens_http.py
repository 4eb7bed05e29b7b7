"""Scoped tokens against a real `mem serve --http` in a subprocess on a loopback port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import CallToolResult

from served import start_http, stop
from zettelmem.memory.core import Memory
from zettelmem.server.http import check_bind

httpx = pytest.importorskip("httpx")

OWNER_TOKEN = "owner-token-9d41"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "httpx", "version": "0"}},
}  # fmt: skip


class Served:
    def __init__(self, home: Path, url: str, log: Path, tokens: dict[str, str],
                 ids: dict[str, str]) -> None:  # fmt: skip
        self.home, self.url, self.log, self.tokens, self.ids = home, url, log, tokens, ids

    def client(self, token: str) -> Client:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        return Client(streamable_http_client(self.url, http_client=http))

    def status(self, token: str | None) -> int:
        headers = {**JSON_HEADERS, **({"Authorization": f"Bearer {token}"} if token else {})}
        with httpx.Client(timeout=30) as http:
            return http.post(self.url, content=json.dumps(INITIALIZE), headers=headers).status_code


def _prepare(home: Path) -> tuple[dict[str, str], dict[str, str]]:
    with Memory(home, embedder="hashing") as memory:
        ids = {
            scope: memory.remember(f"alpha budget note of {scope}", scope=scope).note.id
            for scope in ("team/a", "shared", "private/x")
        }
        tokens = {
            "team": memory.create_token("team", ["team/*:rw", "shared:r"]),
            "gone": memory.create_token("gone", ["shared:r"]),
        }
    return tokens, ids


def _start(home: Path, log: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    return start_http(home, log, env)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    stop(proc)


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "MEM_EMBEDDER": "hashing", **extra}
    env.pop("MEM_HOME", None)
    if "MEM_TOKEN" not in extra:
        env.pop("MEM_TOKEN", None)
    return env


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEM_EMBEDDER", "hashing")
        home = tmp_path_factory.mktemp("tokens") / "home"
        tokens, ids = _prepare(home)
    log = home.parent / "server.log"
    proc, url = _start(home, log, _env(MEM_TOKEN=OWNER_TOKEN))
    try:
        yield Served(home, url, log, tokens, ids)
    finally:
        _stop(proc)


def data(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


def test_a_scoped_token_reads_and_writes_only_its_scopes(served: Served) -> None:
    async def main() -> None:
        async with served.client(served.tokens["team"]) as client:
            found = data(await client.call_tool("recall", {"query": "alpha budget", "scope": "*"}))
            assert {h["scope"] for h in found["hits"]} == {"team/a", "shared"}
            secret = served.ids["private/x"]
            hidden = error_text(await client.call_tool("get_note", {"id": secret}))
            assert f"no note with id {secret!r}" in hidden
            refused = error_text(await client.call_tool(
                "recall", {"query": "alpha", "scope": "private/x"}))  # fmt: skip
            assert "can read: team/*, shared" in refused
            args = {"content": "beta", "scope": "shared"}
            assert "may not write" in error_text(await client.call_tool("remember", args))
            made = data(await client.call_tool("remember", {"content": "beta", "scope": "team/b"}))
            assert made["scope"] == "team/b"
        async with served.client(OWNER_TOKEN) as client:  # MEM_TOKEN: every scope, as before
            found = data(await client.call_tool("recall", {"query": "alpha budget", "scope": "*"}))
            assert "private/x" in {h["scope"] for h in found["hits"]}

    anyio.run(main)


def test_unknown_and_revoked_tokens_are_refused_at_once(served: Served) -> None:
    assert served.status(None) == 401
    assert served.status("zm_" + "A" * 43) == 401
    assert served.status(served.tokens["team"]) == 200
    assert served.status(OWNER_TOKEN) == 200
    assert served.status(served.tokens["gone"]) == 200
    revoked = subprocess.run(
        [sys.executable, "-m", "zettelmem", "--home", str(served.home), "token", "revoke", "gone"],
        capture_output=True, env=_env(), check=False,
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert served.status(served.tokens["gone"]) == 401  # the very next request


def test_no_token_is_kept_or_logged_in_clear(served: Served) -> None:
    assert served.status(served.tokens["team"]) == 200
    secrets = [t.encode() for t in served.tokens.values()]
    for path in [*served.home.rglob("*"), served.log]:
        if path.is_file():
            raw = path.read_bytes()
            assert not any(s in raw for s in secrets), path


def test_store_tokens_alone_require_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEM_EMBEDDER", "hashing")
    home = tmp_path / "home"
    tokens, _ = _prepare(home)
    proc, url = _start(home, tmp_path / "server.log", _env())
    try:
        served = Served(home, url, tmp_path / "server.log", tokens, {})
        assert served.status(None) == 401
        assert served.status("anything") == 401
        assert served.status(tokens["team"]) == 200
    finally:
        _stop(proc)
    check_bind("0.0.0.0", None, has_tokens=True)  # store tokens are enough off loopback
