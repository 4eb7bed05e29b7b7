"""The caller's access in the MCP tools: who is calling, and the checks every tool makes.

The HTTP door's auth middleware puts the caller's ``Access`` in the request's ASGI
scope; ``MemoryServer`` lifts it into a context variable for the span of one tool call
or resource read. Stdio and in-process calls carry no HTTP request: the owner's door.
A note the caller may not read is answered exactly as a missing one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from zettelmem.errors import InvalidInput, NotFound
from zettelmem.grants import OWNER, Access
from zettelmem.memory.core import Memory
from zettelmem.models import Filters, Note

# Where the auth middleware leaves the caller's access in the ASGI scope.
SCOPE_KEY = "zettelmem.access"
NOBODY = Access("nobody", ())
_CALLER: ContextVar[Access] = ContextVar("zettelmem_caller", default=OWNER)


def caller() -> Access:
    return _CALLER.get()


@contextmanager
def calling_as(access: Access) -> Iterator[None]:
    """Run tools as this caller (the server does it per request; tests do it directly)."""
    reset = _CALLER.set(access)
    try:
        yield
    finally:
        _CALLER.reset(reset)


def access_of_request(context: Any) -> Access:
    """The access an MCP request came with: the auth middleware's for HTTP; without an
    HTTP request (stdio, in-process), the caller's as set by ``calling_as`` (the owner's
    unless set)."""
    try:
        request = context.request_context.request if context is not None else None
    except ValueError:  # a context made outside any request
        request = None
    if request is None:
        return caller()
    found = request.scope.get(SCOPE_KEY)
    # An HTTP request the middleware did not vouch for may read and write nothing.
    return found if isinstance(found, Access) else NOBODY


def missing(note_id: str) -> NotFound:
    """The very error a missing id gets (store ``get``), for a note the caller may not see."""
    return NotFound(f"no note with id {note_id!r}", hint="find_ids")


def readable_note(m: Memory, access: Access, note_id: str) -> Note:
    note = m.get(note_id)
    if not access.can_read(note.scope):
        raise missing(note_id)
    return note


def writable_note(m: Memory, access: Access, note_id: str) -> Note:
    note = readable_note(m, access, note_id)
    require_write(access, note.scope)
    return note


def require_read(access: Access, scope: str) -> None:
    if not access.can_read(scope):
        raise InvalidInput(
            f"this token may not read scope {scope!r}; it can read: {access.patterns('r')}"
        )


def require_write(access: Access, scope: str) -> None:
    if not access.can_write(scope):
        raise InvalidInput(
            f"this token may not write scope {scope!r}; "
            + (f"it can write: {found}" if (found := access.patterns("w")) != "no scope"
               else "it is read-only (its grants are all `r`)")
        )  # fmt: skip


def scoped(m: Memory, access: Access, filters: Filters, write: bool = False) -> Filters:
    """Filters a caller may search with: a named scope must be readable (and writable for
    ``write``); no scope means every scope the caller may read (and write)."""
    if access.unrestricted:
        return filters
    if filters.scope is not None:
        require_read(access, filters.scope)
        if write:
            require_write(access, filters.scope)
        return filters
    ok = [s for s in m.scopes() if access.can_read(s) and (not write or access.can_write(s))]
    return replace(filters, scopes=tuple(ok))


def visible(access: Access, notes: Sequence[Note]) -> list[Note]:
    return [n for n in notes if access.can_read(n.scope)]


def may_forget(m: Memory, access: Access, ids: Sequence[str]) -> None:
    """Each id readable (else: as if missing) and writable, and so the insights that
    quote them and would go too."""
    if access.unrestricted:
        return
    for note_id in ids:
        writable_note(m, access, note_id)
    for insight in m.records.derived_from(ids):
        if not access.can_write(m.get(insight).scope):
            raise InvalidInput("an insight this token may not change quotes one of these "
                               "notes; ask the memory's owner to forget them")  # fmt: skip


def own_stats(access: Access, data: dict[str, object]) -> dict[str, object]:
    """Stats for a restricted caller: the counts of the scopes it may read, nothing else."""
    by_scope = data.get("scopes")
    mine = {s: n for s, n in by_scope.items() if access.can_read(s)} if isinstance(
        by_scope, dict) else {}  # fmt: skip
    return {"notes": sum(int(n) for n in mine.values()), "scopes": mine}
