"""`mem ui`: the web view over one Memory at `/ui`. Pages are rendered by ui_html and
ui_views; this module holds the routes and the rules: the Host/Origin and bind checks of
`mem serve --http`, the token (header, or a cookie set from `?token=`), and writes only
by a same-origin POST carrying the page's CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sys
import threading
import webbrowser
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from mcp.server.transport_security import RequestBodyLimitMiddleware, TransportSecurityMiddleware
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from zettelmem.errors import InvalidInput, MemError, NotFound, StoreUnreachable, from_database
from zettelmem.memory.core import Memory
from zettelmem.models import Hit, Link
from zettelmem.redaction import scrub
from zettelmem.render import memory_empty, note_label, scope_missing
from zettelmem.server import ui_html as H
from zettelmem.server import ui_views as V
from zettelmem.server.core import Core
from zettelmem.server.http import (
    _host_name,
    _listen,
    check_bind,
    transport_security,
    warn_wildcard_without_names,
)
from zettelmem.server.mcp import DEFAULT_HOST
from zettelmem.server.ui_graph import load_view
from zettelmem.timeutil import parse_month

T = TypeVar("T")
log = logging.getLogger("zettelmem")
DEFAULT_UI_PORT = 8766
MAX_FORM_BYTES = 64 * 1024
GRAPHS_KEPT = 8  # laid-out graphs kept, by scope, until the next write
ASSETS = {"ui.css": "text/css", "ui.js": "text/javascript", "graph.js": "text/javascript"}
DONE = {"reverted": "Change reverted.", "approved": "Note approved: it is an ordinary note now.",
        "rejected": "Note rejected: forgotten, and a lesson kept."}  # fmt: skip
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Unreachable(Exception):
    """The store did not answer a page's call. Not a MemError, so no page takes it for a
    bad request of its own: every page answers it alike, in `unreachable`."""


@dataclass
class UiState:
    """What every request shares: the core thread, the CSRF token, the graph cache."""

    core: Core
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    graphs: dict[str | None, tuple[int, dict[str, object]]] = field(default_factory=dict)

    async def run(self, fn: Callable[[Memory], T]) -> T:
        """fn(memory) on the core thread; a database's own error becomes one MemError line,
        and a store that does not answer (an outage) `Unreachable`."""
        try:
            return await self.core.run(fn)
        except Exception as exc:
            found = exc if isinstance(exc, MemError) else from_database(exc)
            if isinstance(found, StoreUnreachable):
                raise Unreachable(str(found)) from None
            if found is None or found is exc:
                raise
            raise found from None


async def unreachable(request: Request, exc: Exception) -> Response:
    """Any page while the store does not answer: a 503 page with the one-line reason and
    one log line, not a traceback per request. The next request asks the store again."""
    text = " ".join(scrub(str(exc)).split())
    log.warning("web view: %s %s: the store is unreachable: %s", request.method,
                request.url.path, text)  # fmt: skip
    return page("Store unreachable", V.unreachable_page(text), status=503)


def page(title: str, body: str, *, active: str = "", pending: int = 0, status: int = 200,
         flash: str = "", error: str = "",
         scripts: Sequence[str] = ()) -> HTMLResponse:  # fmt: skip
    text = H.shell(title, body, active=active, pending=pending, flash=flash, error=error,
                   scripts=scripts)  # fmt: skip
    return HTMLResponse(text, status_code=status, headers=SECURITY_HEADERS)


def _scopes(stats: dict[str, object]) -> list[str]:
    scopes = stats["scopes"]
    return sorted(scopes) if isinstance(scopes, dict) else []


def _pending(memory: Memory) -> int:
    return len(memory.review())


def _nothing_found(stats: dict[str, object], scope: str | None) -> str:
    """Why a page that found nothing found nothing, when the filters are not the reason:
    the memory holds no notes (and how to add some), or the scope asked for holds none
    (and the scopes there are, all of which the view's owner may read); else ""."""
    if int(str(stats["notes"])) == 0:
        return memory_empty()
    return (scope_missing(scope, _scopes(stats)) or "") if scope else ""


# -- pages ------------------------------------------------------------------


def search_form(request: Request) -> H.SearchForm:
    q = request.query_params
    try:
        k = min(max(int(q.get("k", "20")), 1), 100)
    except ValueError:
        k = 20
    return H.SearchForm(q=q.get("q", "").strip(), scope=q.get("scope", ""), tag=q.get("tag", ""),
                        since=q.get("since", ""), until=q.get("until", ""), k=k,
                        superseded=bool(q.get("superseded")))  # fmt: skip


async def search(request: Request) -> Response:
    state: UiState = request.app.state.ui
    form = search_form(request)

    def work(m: Memory) -> tuple[list[str], int, str]:
        stats = m.stats()
        scopes, pending = _scopes(stats), _pending(m)
        if not form.q:  # nothing asked yet: an empty memory says so all the same
            empty = _nothing_found(stats, None)
            return scopes, pending, H.search_page(form, scopes, None, [], {}, empty)
        filters = m.filters(
            scope=form.scope or None, tags=form.tags(), since=form.since or None,
            until=form.until or None, include_superseded=form.superseded,
        )  # fmt: skip
        found = m.recall(form.q, k=form.k, filters=filters)
        hits, lessons = found.hits, found.lessons
        vias = {x for h in _vias(hits) for x in (h.src, h.dst)} - {h.note.id for h in hits}
        labels = {i: note_label(m.get(i)) for i in vias}
        labels.update({h.note.id: note_label(h.note) for h in hits})
        why = "" if hits else _nothing_found(stats, form.scope or None)
        return scopes, pending, H.search_page(form, scopes, hits, lessons, labels, why)

    try:
        scopes, pending, body = await state.run(work)
    except InvalidInput as exc:
        scopes, pending = await state.run(lambda m: (_scopes(m.stats()), _pending(m)))
        body = H.search_form(form, scopes)
        return page("Search", body, active="search", pending=pending, status=400, error=str(exc))
    title = f"{form.q} · Search" if form.q else "Search"
    return page(title, body, active="search", pending=pending)


def _vias(hits: Sequence[Hit]) -> list[Link]:
    return [h.via for h in hits if h.via is not None]


def _note_body(m: Memory, note_id: str, csrf: str) -> tuple[str, str, int]:
    note = m.get(note_id)
    links = m.links(note_id)
    others = {}
    for link in links:
        other = link.dst if link.src == note_id else link.src
        if other not in others:
            try:
                others[other] = m.get(other)
            except NotFound:
                continue
    verdict = next((v for n, v in m.review(note.scope) if n.id == note_id), None)
    body = H.note_page(note, links, others, m.history(note_id), verdict, csrf)
    return note_label(note), body, _pending(m)


async def note(request: Request) -> Response:
    state: UiState = request.app.state.ui
    note_id = request.path_params["note_id"]
    try:
        title, body, pending = await state.run(lambda m: _note_body(m, note_id, state.csrf))
    except MemError as exc:
        return await _failed(state, exc)
    flash = DONE.get(request.query_params.get("done", ""), "")
    return page(title, body, pending=pending, flash=flash)


async def _failed(state: UiState, exc: MemError, active: str = "") -> Response:
    pending = await state.run(_pending)
    status = 404 if isinstance(exc, NotFound) else 400
    title = "Not found" if status == 404 else "Cannot do that"
    return page(title, V.message_page(title, str(exc)), active=active, pending=pending,
                status=status)  # fmt: skip


async def graph(request: Request) -> Response:
    state: UiState = request.app.state.ui
    scope = request.query_params.get("scope") or None

    def work(m: Memory) -> tuple[list[str], int, dict[str, object], str]:
        stats = m.stats()
        head = int(str(stats["ops_head"]))
        cached = state.graphs.get(scope)
        if cached is None or cached[0] != head:
            if len(state.graphs) >= GRAPHS_KEPT:
                state.graphs.pop(next(iter(state.graphs)))
            state.graphs[scope] = cached = (head, load_view(m, scope))
        why = "" if cached[1]["total"] else _nothing_found(stats, scope)
        return _scopes(stats), _pending(m), cached[1], why

    try:
        scopes, pending, doc, why = await state.run(work)
    except MemError as exc:
        return await _failed(state, exc, "graph")
    return page("Graph", V.graph_page(doc, scopes, why), active="graph", pending=pending,
                scripts=["graph.js"])  # fmt: skip


async def timeline(request: Request) -> Response:
    state: UiState = request.app.state.ui
    scope = request.query_params.get("scope") or None
    month = request.query_params.get("month") or None

    def work(m: Memory) -> tuple[str, int]:
        stats = m.stats()
        count = int(str(stats["notes"]))
        notes = [n for n in m.list_notes(scope, limit=max(1, count)) if n.status != "quarantined"]
        why = "" if notes else _nothing_found(stats, scope)
        return V.timeline_page(notes, _scopes(stats), scope, month, why), _pending(m)

    try:
        month = parse_month(month) if month is not None else None
        body, pending = await state.run(work)
    except MemError as exc:
        return await _failed(state, exc, "timeline")
    return page("Timeline", body, active="timeline", pending=pending)


async def review(request: Request) -> Response:
    state: UiState = request.app.state.ui
    pending = await state.run(lambda m: m.review())
    flash = DONE.get(request.query_params.get("done", ""), "")
    return page("Review", V.review_page(pending, state.csrf), active="review",
                pending=len(pending), flash=flash)  # fmt: skip


# -- writes -----------------------------------------------------------------


async def posted(request: Request) -> dict[str, str]:
    """The form of a POST from one of our own pages: same origin, and our CSRF token."""
    state: UiState = request.app.state.ui
    if not _same_origin(request):
        raise PermissionError("a form from another site; reload the page and try again")
    body = await request.body()
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not hmac.compare_digest(form.get("csrf", "").encode(), state.csrf.encode()):
        raise PermissionError("the page is out of date (this view restarted); reload it")
    return form


def _same_origin(request: Request) -> bool:
    """The Origin (else the Referer) names this very host: browsers send one with a POST."""
    claimed = request.headers.get("origin") or request.headers.get("referer") or ""
    parts = urlsplit(claimed)
    host = request.headers.get("host", "")
    return bool(host) and parts.netloc == host and parts.scheme in ("http", "https")


async def revert(request: Request) -> Response:
    state: UiState = request.app.state.ui
    try:
        form = await posted(request)
    except PermissionError as exc:
        return HTMLResponse(V.message_page("Refused", str(exc)), 403, headers=SECURITY_HEADERS)
    note_id = form.get("note", "")
    try:
        await state.run(lambda m: m.revert(form.get("change", "")))
    except MemError as exc:
        try:
            title, body, pending = await state.run(lambda m: _note_body(m, note_id, state.csrf))
        except MemError:
            return await _failed(state, exc)
        return page(title, body, pending=pending, status=409, error=str(exc))
    return RedirectResponse(H.url("/note/" + note_id, done="reverted"), status_code=303)


async def settle(request: Request) -> Response:
    state: UiState = request.app.state.ui
    action = request.path_params["action"]
    if action not in ("approve", "reject"):
        return Response("not found", 404)
    try:
        form = await posted(request)
    except PermissionError as exc:
        return HTMLResponse(V.message_page("Refused", str(exc)), 403, headers=SECURITY_HEADERS)
    note_id = form.get("id", "")
    try:
        if action == "approve":
            await state.run(lambda m: m.approve(note_id))
        else:
            await state.run(lambda m: m.reject(note_id))
    except MemError as exc:
        pending = await state.run(lambda m: m.review())
        return page("Review", V.review_page(pending, state.csrf), active="review",
                    pending=len(pending), status=409, error=str(exc))  # fmt: skip
    done = "approved" if action == "approve" else "rejected"
    return RedirectResponse(H.url("/review", done=done), status_code=303)


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        return Response("not found", 404)
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(V.asset(name), media_type=ASSETS[name], headers=headers)


async def no_icon(request: Request) -> Response:
    return Response(status_code=204)


async def home_redirect(request: Request) -> Response:
    return RedirectResponse(H.url("/"), status_code=307)


# -- the app and its guard ----------------------------------------------------


class Guard:
    """The rules of `mem serve --http` for a browser: Host and Origin checks (421/403),
    and with a token, `Authorization: Bearer` or the cookie `?token=` sets (401)."""

    def __init__(self, app: ASGIApp, host: str, token: str | None,
                 allowed_hosts: Sequence[str]) -> None:  # fmt: skip
        self.app = app
        self.checks = TransportSecurityMiddleware(transport_security(host, allowed_hosts))
        self.token = token
        digest = hashlib.sha256(f"zettelmem-ui:{token}".encode()).hexdigest() if token else ""
        self.cookie_name, self.cookie_value = f"zettelmem_ui_{digest[:8]}", digest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refused = await self.checks.validate_request(request, is_post=False)
        if refused is not None and refused.status_code == 421:
            # Opened by a name the view was not told of (the machine's address on the LAN):
            # say which option lets it in.
            name = request.headers.get("host", "").rsplit(":", 1)[0] or "that name"
            refused = PlainTextResponse(
                f"this view does not answer to the host {name!r}; start it with "
                f"`--allow-host {name}` (it answers to loopback, the bound address and "
                "each --allow-host)", status_code=421)  # fmt: skip
        if refused is None and self.token and not request.url.path.startswith("/ui/static/"):
            refused = self._authenticate(request)
        if refused is not None:
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authenticate(self, request: Request) -> Response | None:
        assert self.token is not None
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), self.token):
            return None
        cookie = request.cookies.get(self.cookie_name, "")
        if cookie and hmac.compare_digest(cookie, self.cookie_value):
            return None
        offered = request.query_params.get("token")
        if offered and hmac.compare_digest(offered, self.token) and request.method == "GET":
            rest = urlencode([(k, v) for k, v in request.query_params.multi_items()
                              if k != "token"])  # fmt: skip
            response = RedirectResponse(request.url.path + (f"?{rest}" if rest else ""), 303)
            response.set_cookie(self.cookie_name, self.cookie_value, httponly=True,
                                samesite="strict", path="/")  # fmt: skip
            return response
        return HTMLResponse(V.token_page(request.url.path), 401, headers=SECURITY_HEADERS)


def ui_app(core: Core, *, host: str = DEFAULT_HOST, token: str | None = None,
           allowed_hosts: Sequence[str] = ()) -> ASGIApp:  # fmt: skip
    """The web view at `/ui` over the memory ``core`` owns, with every check in place."""
    check_bind(host, token, store_tokens=False)
    routes = [
        Route("/", home_redirect),
        Route("/ui", home_redirect),
        Route("/ui/", search),
        Route("/ui/note/{note_id}", note),
        Route("/ui/graph", graph),
        Route("/ui/timeline", timeline),
        Route("/ui/review", review),
        Route("/ui/revert", revert, methods=["POST"]),
        Route("/ui/review/{action:str}", settle, methods=["POST"]),
        Route("/ui/static/{name}", static),
        Route("/favicon.ico", no_icon),
    ]
    # A database outage is one 503 page for every route, whichever call met it.
    app = Starlette(routes=routes, exception_handlers={Unreachable: unreachable})
    app.state.ui = UiState(core)
    guarded = Guard(app, host, token, allowed_hosts)
    return RequestBodyLimitMiddleware(guarded, MAX_FORM_BYTES)


def serve_ui(home: str | Path | None, *, host: str | None = None, port: int | None = None,
             token: str | None = None, allowed_hosts: Sequence[str] = (),
             open_browser: bool = False, guard: str | None = None,
             store: str | None = None) -> None:  # fmt: skip
    """`mem ui`: serve the web view until interrupted; the address goes to stderr."""
    import uvicorn

    host = host or DEFAULT_HOST
    check_bind(host, token, store_tokens=False)
    core = Core(lambda: Memory(home, guard=guard, store=store))
    try:
        app = ui_app(core, host=host, token=token, allowed_hosts=allowed_hosts)
        sock = _listen(host, DEFAULT_UI_PORT if port is None else port)
        shown = host if host.strip("[]") not in ("0.0.0.0", "::") else "127.0.0.1"
        address = f"http://{_host_name(shown)}:{sock.getsockname()[1]}/ui/"
        opened = address + (f"?{urlencode({'token': token})}" if token else "")
        sys.stderr.write(f"zettelmem: web view at {opened}\n")
        warn_wildcard_without_names(host, allowed_hosts)
        sys.stderr.flush()
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(opened,), daemon=True).start()
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        core.close()
