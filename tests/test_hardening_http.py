"""`mem serve --http` edges: a blank token is no token, the URL printed is ready, a body
that trickles is cut off without stalling anyone else, and a client that hangs up
mid-body, or whose session ends under a request, leaves no traceback."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anyio
import pytest

from zettelmem.errors import InvalidInput
from zettelmem.server import http

pytestmark = pytest.mark.usefixtures("offline_env")


@pytest.mark.parametrize("token", ["   ", "", "\t\n"])
def test_a_blank_token_does_not_open_the_server_beyond_loopback(home, token: str) -> None:
    with pytest.raises(InvalidInput, match="without a token"):
        http.serve(home, http=True, host="0.0.0.0", port=0, token=token)


def test_the_socket_accepts_before_the_url_is_printed() -> None:
    import socket

    sock = http._listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # queued by the kernel although nobody calls accept yet
    sock.close()


INITIALIZE = json.dumps({
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "raw", "version": "0"}},
}).encode()  # fmt: skip


# The body deadline of the server under test: long enough that a loaded machine answers
# a whole request before it, short enough to wait for.
BODY_SECONDS = 6.0


@pytest.fixture
def live(home, caplog) -> Iterator[int]:
    """The real HTTP app on uvicorn in a thread, with a short body deadline."""
    import uvicorn

    from zettelmem.memory.core import Memory
    from zettelmem.server.mcp import build_server

    server = build_server(lambda: Memory(home))
    app = http.http_app(server, body_seconds=BODY_SECONDS)
    sock = http._listen("127.0.0.1", 0)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, kwargs={"sockets": [sock]}, daemon=True)
    caplog.set_level(logging.WARNING)
    thread.start()
    while not runner.started:
        time.sleep(0.02)
    yield sock.getsockname()[1]
    runner.should_exit = True
    thread.join(timeout=15)
    server.close()


def _head(port: int, length: int) -> bytes:
    return (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()  # fmt: skip


def _answer(conn: socket.socket) -> bytes:
    """A response: until the server's name is in an answer's body, or until the server
    closes the connection (a 408's body may come in a later packet than its head)."""
    got = b""
    while chunk := conn.recv(65536):
        got += chunk
        if b"\r\n\r\n" in got and b"zettelmem" in got:
            break
    return got


def test_a_trickled_body_gets_408_and_others_are_served_meanwhile(live: int) -> None:
    slow = socket.create_connection(("127.0.0.1", live), timeout=20)
    slow.sendall(_head(live, len(INITIALIZE)) + INITIALIZE[:5])
    # While the slow client trickles, a whole request is answered at once.
    fast = socket.create_connection(("127.0.0.1", live), timeout=20)
    fast.sendall(_head(live, len(INITIALIZE)) + INITIALIZE)
    answer = _answer(fast)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    # Answered before the trickling request was cut off, not after it (an order, not a
    # time: a loaded machine may take a while to answer, but not the body deadline).
    slow.setblocking(False)
    with pytest.raises(BlockingIOError):
        slow.recv(1, socket.MSG_PEEK)
    slow.setblocking(True)
    for byte in INITIALIZE[5:8]:
        slow.sendall(bytes([byte]))
        time.sleep(0.3)
    cut = _answer(slow)
    assert cut.startswith(b"HTTP/1.1 408"), cut[:200]
    assert b"send the whole body" in cut
    assert slow.recv(1) == b"", "the connection stays open after 408"
    slow.close()
    fast.close()


def test_a_client_that_hangs_up_mid_body_leaves_no_traceback(live: int, caplog) -> None:
    for _ in range(3):
        conn = socket.create_connection(("127.0.0.1", live), timeout=20)
        conn.sendall(_head(live, len(INITIALIZE)) + INITIALIZE[:20])
        conn.close()
    time.sleep(0.5)
    ok = socket.create_connection(("127.0.0.1", live), timeout=20)
    ok.sendall(_head(live, len(INITIALIZE)) + INITIALIZE)
    assert _answer(ok).startswith(b"HTTP/1.1 200")
    ok.close()
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "ClientDisconnect" not in logged and "Traceback" not in logged, logged
    assert not [r for r in caplog.records if r.exc_info], logged


class AsgiClient:
    """Requests to the real HTTP app (what `mem serve --http` hands uvicorn), in-process, so
    a test can hold a response part-way and order another request in between; a message
    sent after a whole response is refused as uvicorn refuses it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def request(
        self,
        method: str,
        message: dict[str, Any] | None = None,
        session: str | None = None,
        on_start: Callable[[], Awaitable[None]] | None = None,
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        raw = json.dumps(message).encode() if message is not None else b""
        headers = [(b"host", b"127.0.0.1:8765"), (b"content-type", b"application/json"),
                   (b"accept", b"application/json, text/event-stream"),
                   (b"content-length", str(len(raw)).encode())]  # fmt: skip
        if session is not None:
            headers += [(b"mcp-session-id", session.encode()),
                        (b"mcp-protocol-version", b"2025-06-18")]  # fmt: skip
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": "/mcp", "raw_path": b"/mcp",
                 "query_string": b"", "root_path": "", "headers": headers,
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8765)}  # fmt: skip
        complete = anyio.Event()
        body_read = False
        got: dict[str, Any] = {"status": 0, "headers": {}, "body": b""}

        async def receive() -> dict[str, Any]:
            nonlocal body_read
            if not body_read:
                body_read = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await complete.wait()
            return {"type": "http.disconnect"}

        async def send(sent: dict[str, Any]) -> None:
            if complete.is_set():
                raise RuntimeError(f"Unexpected ASGI message {sent['type']!r} sent, after "
                                   "response already completed.")  # fmt: skip
            if sent["type"] == "http.response.start":
                got["status"], got["headers"] = sent["status"], dict(sent["headers"])
                if on_start is not None:
                    await on_start()
            elif sent["type"] == "http.response.body":
                got["body"] += sent.get("body", b"")
                if not sent.get("more_body", False):
                    complete.set()

        await self.app(scope, receive, send)
        return got["status"], got["headers"], got["body"]

    async def open_session(self) -> str:
        status, headers, _ = await self.request("POST", json.loads(INITIALIZE))
        assert status == 200
        session = headers[b"mcp-session-id"].decode()
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await self.request("POST", initialized, session))[0] == 202
        return session


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The app started and stopped as uvicorn does (its sessions live in the lifespan)."""
    to_app, from_test = anyio.create_memory_object_stream[dict[str, Any]](2)
    started, stopped = anyio.Event(), anyio.Event()

    async def send(message: dict[str, Any]) -> None:
        assert not message["type"].endswith(".failed"), message
        (started if "startup" in message["type"] else stopped).set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(app, {"type": "lifespan", "asgi": {"version": "3.0"}},
                      from_test.receive, send)  # fmt: skip
        await to_app.send({"type": "lifespan.startup"})
        await started.wait()
        yield
        await to_app.send({"type": "lifespan.shutdown"})
        await stopped.wait()


def test_a_session_ended_under_a_notification_leaves_no_traceback(
    home, caplog, monkeypatch
) -> None:
    """A client that gives up on a call cancels it and ends its session: when the DELETE
    lands between the 202 for `notifications/cancelled` and the session reading it, the
    request is dropped quietly (no second response, no traceback) and the server serves
    on."""
    from zettelmem.memory.core import Memory
    from zettelmem.server.mcp import build_server

    server = build_server(lambda: Memory(home))
    client = AsgiClient(http.http_app(server))
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="zettelmem")
    monkeypatch.setattr(logging.getLogger("zettelmem"), "propagate", True)  # `mem` turns it off

    async def main() -> None:
        async with lifespan(client.app):
            session = await client.open_session()
            held, deleted = anyio.Event(), anyio.Event()

            async def hold() -> None:
                held.set()
                await deleted.wait()

            cancelled = {"jsonrpc": "2.0", "method": "notifications/cancelled",
                         "params": {"requestId": 2, "reason": "the client gave up"}}  # fmt: skip
            answers: list[int] = []

            async def notify() -> None:
                answers.append((await client.request("POST", cancelled, session, hold))[0])

            async with anyio.create_task_group() as tg:
                tg.start_soon(notify)
                await held.wait()  # the 202 is on its way; the session has not read it
                assert (await client.request("DELETE", None, session))[0] == 200
                deleted.set()
            assert answers == [202]
            assert (await client.request("POST", {"jsonrpc": "2.0", "id": 3, "method": "ping"},
                                         session))[0] == 404  # fmt: skip
            await client.open_session()  # the server serves on

    try:
        anyio.run(main)
    finally:
        server.close()
    logged = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING], logged
    assert "session ended while it was handled" in logged  # one debug line says what went
