"""The MCP server over streamable HTTP: binding rules, bearer token, Host/Origin checks,
request size cap, and `mem serve` itself."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio
import anyio.to_thread
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zettelmem.config import resolve_home
from zettelmem.errors import InvalidInput, MemError, from_database
from zettelmem.grants import OWNER, TOKEN_PREFIX, Access
from zettelmem.memory.core import Memory
from zettelmem.server.access import SCOPE_KEY
from zettelmem.server.mcp import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    LOOPBACK_NAMES,
    MAX_REQUEST_BYTES,
    MemoryServer,
    build_server,
)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(
    host: str, token: str | None, has_tokens: bool = False, store_tokens: bool = True
) -> None:
    """Refuse to serve beyond this machine without a token (the server's, or the store's
    from `mem token create` where ``store_tokens`` says the door takes them)."""
    if not is_loopback(host) and not token and not has_tokens:
        which = ("set MEM_TOKEN (or pass --token), or make one with `mem token create`"
                 if store_tokens else "set MEM_TOKEN (or pass --token): the web view takes "
                 "that one token, not those of `mem token create`")  # fmt: skip
        raise InvalidInput(
            f"refusing to serve on {host}, which other machines can reach, without a token; "
            f"{which}, so clients must send Authorization: Bearer <token>; or bind 127.0.0.1"
        )


def _host_name(host: str) -> str:
    bare = host.strip("[]")
    return f"[{bare}]" if ":" in bare else bare


def transport_security(host: str, allowed_hosts: Sequence[str] = ()) -> TransportSecuritySettings:
    """Host and Origin allow-lists against DNS rebinding: loopback, the bind address, extras."""
    names = list(LOOPBACK_NAMES)
    if not _wildcard(host):
        names.append(_host_name(host))
    names.extend(_host_name(h) for h in allowed_hosts)
    hosts = [form for name in dict.fromkeys(names) for form in (name, f"{name}:*")]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[f"{scheme}://{h}" for scheme in ("http", "https") for h in hosts],
    )


def _wildcard(host: str) -> bool:
    """Every interface: no one name a client would send as its Host."""
    return host.strip("[]") in ("0.0.0.0", "::", "")


def wildcard_without_names(host: str, allowed_hosts: Sequence[str]) -> bool:
    """Bound to every interface with no name a remote client could send as its Host."""
    return _wildcard(host) and not allowed_hosts


def warn_wildcard_without_names(host: str, allowed_hosts: Sequence[str]) -> None:
    """Say on stderr that other machines get 421 from a server (`mem serve --http`, `mem ui`)
    bound to every interface but told no name they could use."""
    if wildcard_without_names(host, allowed_hosts):
        sys.stderr.write(
            f"zettelmem: bound to {host}, but only loopback names are allowed in the Host "
            "header: clients on other machines get 421 until you add --allow-host NAME for "
            "each name or address they use\n"
        )


class BearerAuth:
    """Checks `Authorization: Bearer <token>` on every HTTP request and hands the caller's
    access on to the tools (in the ASGI scope, under ``SCOPE_KEY``).

    The server's own token (MEM_TOKEN, compared in constant time) may read and write
    every scope; a token made with `mem token create` has its grants, looked up in the
    record on each request, so a revoked token is refused at once. With neither, a
    loopback server is open to its machine as before (the owner's access); a server other
    machines can reach never is, not even once its last store token is revoked.
    """

    def __init__(
        self, app: ASGIApp, server: MemoryServer, token: str | None, loopback: bool = True
    ) -> None:
        self.app = app
        self.server = server
        self.token = token.encode("utf-8") if token else None
        self.open_without_tokens = self.token is None and loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                access = await self._access(scope)
            except Exception as exc:
                # The store is out of reach (a database outage): say so, not a bare 500.
                found = exc if isinstance(exc, MemError) else from_database(exc)
                if found is None:
                    raise
                text = " ".join(str(found).split())
                await PlainTextResponse(f"the memory's store is unavailable: {text}",
                                        status_code=503)(scope, receive, send)  # fmt: skip
                return
            if access is None:
                response = PlainTextResponse(
                    "missing or wrong bearer token; send Authorization: Bearer <token>",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="zettelmem"'},
                )
                await response(scope, receive, send)
                return
            scope[SCOPE_KEY] = access
        await self.app(scope, receive, send)

    async def _access(self, scope: Scope) -> Access | None:
        given = b""
        for name, value in scope["headers"]:
            if name.lower() == b"authorization":
                given = value
        scheme, _, raw = given.partition(b" ")
        token = raw.strip() if scheme.lower() == b"bearer" else b""
        # Compare even on a wrong scheme, so timing says nothing about the token.
        if self.token is not None and hmac.compare_digest(raw.strip(), self.token) and token:
            return OWNER
        text = token.decode("utf-8", "replace")
        return await self.server.core.run(lambda m: _lookup(m, text, self.open_without_tokens))


def _lookup(m: Memory, token: str, open_without_tokens: bool) -> Access | None:
    """The access a store token gives; with no server token and no store tokens at all,
    the owner's (a loopback server without tokens, as before tokens existed)."""
    # Looked up by hash: the index compares hashes, so timing says nothing about a token.
    found = m.access_for(token) if token.startswith(TOKEN_PREFIX) else None
    if found is None and open_without_tokens and not m.tokens():
        return OWNER
    return found


# A request body must arrive whole within this many seconds of the request's start.
BODY_SECONDS = 30.0


class WholeBody:
    """Reads a request's body in full, within a deadline and a size cap, before the app runs.

    A client that trickles its body (or stops sending) gets 408 and its connection closed
    when the deadline passes, instead of holding a connection and a task open for ever; a
    client that hangs up mid-body is simply forgotten (no ClientDisconnect traceback in the
    log), and the app only ever sees complete bodies. Responses are not buffered, so event
    streams flow as before.
    """

    def __init__(self, app: ASGIApp, *, seconds: float, max_bytes: int) -> None:
        self.app = app
        self.seconds = seconds
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        complete = False
        with anyio.move_on_after(self.seconds):
            while not complete:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client left before its request was whole: nobody to answer
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_bytes:
                    await _plain(send, 413, f"request body over {self.max_bytes} bytes; "
                                 "send less per call")  # fmt: skip
                    return
                chunks.append(chunk)
                complete = not message.get("more_body", False)
        if not complete:
            await _plain(send, 408, f"request body not received within {self.seconds:g} s; "
                         "send the whole body at once")  # fmt: skip
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: disconnect notices for streams

        await self.app(scope, replay, send)


log = logging.getLogger("zettelmem")

# Where the SDK's streamable HTTP transport logs, and what it logs when the session a
# request was for ended while the request was handled (its streams are closed).
TRANSPORT_LOGGER = "mcp.server.streamable_http"
TRANSPORT_POST_FAILED = "Error handling POST request"
SESSION_GONE = (anyio.ClosedResourceError, anyio.BrokenResourceError)


class SessionGoneFilter(logging.Filter):
    """Keeps out of the log the transport's traceback for a request whose session ended
    under it (`AnswerOnce` says so in one debug line instead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (record.msg == TRANSPORT_POST_FAILED and isinstance(error, SESSION_GONE))


SESSION_GONE_FILTER = SessionGoneFilter()


class AnswerOnce:
    """Sends one response per request, and drops quietly a request whose session ended
    while it was handled.

    The transport answers a notification (such as a client's `notifications/cancelled`)
    with 202 before the session reads it. A client that gives up on a call cancels it and
    ends its session (DELETE); when the DELETE lands in between, the transport finds the
    session's streams closed, tries to send a 500 after the 202 and raises. The client
    has its answer and has left, so nothing more is sent and the closed streams are one
    debug line, not tracebacks in the log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answered = False

        async def once(message: Message) -> None:
            nonlocal answered
            if answered:
                return  # after a whole response the server may send nothing more
            answered = message["type"] == "http.response.body" and not message.get(
                "more_body", False
            )
            await send(message)

        try:
            await self.app(scope, receive, once)
        except SESSION_GONE:
            if not answered:
                raise
            log.debug("%s %s: its session ended while it was handled; dropped",
                      scope.get("method"), scope.get("path"))  # fmt: skip


async def _plain(send: Send, status: int, text: str) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": text.encode("utf-8")})


def http_app(
    server: MemoryServer,
    *,
    host: str = DEFAULT_HOST,
    token: str | None = None,
    allowed_hosts: Sequence[str] = (),
    max_request_bytes: int = MAX_REQUEST_BYTES,
    body_seconds: float = BODY_SECONDS,
) -> ASGIApp:
    """The streamable HTTP app at `/mcp`, with the token, Host/Origin, size and time checks."""
    check_bind(host, token, has_tokens=server.core.call(lambda m: bool(m.tokens())))
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path="/mcp",
        max_request_body_size=max_request_bytes,
        transport_security=transport_security(host, allowed_hosts),
        host=host,
    )
    logging.getLogger(TRANSPORT_LOGGER).addFilter(SESSION_GONE_FILTER)  # added once
    app = WholeBody(AnswerOnce(app), seconds=body_seconds, max_bytes=max_request_bytes)
    # no body is read before the token
    return BearerAuth(app, server, token, loopback=is_loopback(host))


def _listen(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InvalidInput(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port (0: any)"
        ) from None
    # Listening before the address is printed: a client that connects at once waits in
    # the backlog until the server accepts, instead of being refused while it starts.
    sock.listen(128)
    return sock


def serve_http(
    server: MemoryServer,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    allowed_hosts: Sequence[str] = (),
) -> None:
    """Serve streamable HTTP until interrupted; the URL goes to stderr."""
    import uvicorn

    app = http_app(server, host=host, token=token, allowed_hosts=allowed_hosts)
    sock = _listen(host, port)
    url = f"http://{_host_name(host)}:{sock.getsockname()[1]}/mcp"
    sys.stderr.write(f"zettelmem: serving MCP (streamable HTTP) at {url}\n")
    warn_wildcard_without_names(host, allowed_hosts)
    sys.stderr.flush()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


def _stdio_notice(home: str | Path | None) -> None:
    """On a terminal, say what `mem serve` is waiting for (stderr: stdout is protocol)."""
    sys.stderr.write(
        f"zettelmem: MCP server on stdio for {resolve_home(home)}, waiting for an MCP client.\n"
        "An MCP client starts this command itself: `mem mcp-config claude-desktop` (or "
        "claude-code, cursor, vscode) prints its configuration; `mem serve --http` serves "
        "clients that connect by URL. Ctrl-C stops.\n"
    )
    sys.stderr.flush()


def serve(
    home: str | Path | None,
    *,
    http: bool = False,
    host: str | None = None,
    port: int | None = None,
    scope: str | None = None,
    token: str | None = None,
    allowed_hosts: Sequence[str] = (),
    guard: str | None = None,
    store: str | None = None,
) -> None:
    """`mem serve`: stdio (nothing but protocol on stdout) or streamable HTTP."""
    token = (token or "").strip() or None  # MEM_TOKEN="  " is no token, not a token of blanks
    if not http and (host is not None or port is not None or allowed_hosts):
        raise InvalidInput("--host, --port and --allow-host need --http")
    if http and not token and not resolve_home(home).exists():
        check_bind(
            host or DEFAULT_HOST, None
        )  # no home yet, so no tokens: refuse before making one
    server = build_server(lambda: Memory(home, guard=guard, store=store), default_scope=scope)
    try:
        if http:
            serve_http(
                server,
                host=host or DEFAULT_HOST,
                port=DEFAULT_PORT if port is None else port,
                token=token,
                allowed_hosts=allowed_hosts,
            )
        else:
            if sys.stdin.isatty():
                _stdio_notice(home)
            anyio.run(server.run_stdio_async)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
