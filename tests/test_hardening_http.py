"""`mem serve --http` edges: a blank token is no token, the URL printed is ready, a body
that trickles is cut off without stalling anyone else, and a client that hangs up
mid-body leaves no traceback."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator

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
