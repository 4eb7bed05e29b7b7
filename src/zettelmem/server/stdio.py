"""`mem serve` over stdio: the SDK's transport, with the lines its parser refuses for a lone
UTF-16 surrogate escape read again.

`"\\ud83d"` is valid JSON (it is what JavaScript writes for half an emoji), but the SDK's
parser rejects it, and the transport hands the session an error without the request's id,
so the client would wait for an answer that never comes. Such a line is decoded here with
each lone surrogate as U+FFFD (a note with a broken emoji is still a note) and served.
"""

from __future__ import annotations

import json
import re
from types import TracebackType
from typing import Any, Protocol

import mcp_types as types
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

Item = SessionMessage | Exception

# A surrogate code point left in decoded JSON text: a pair decodes to one character, so
# whatever surrogate remains was a lone escape.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def refused_line(error: ValidationError) -> str | None:
    """The line the SDK's parser refused as invalid JSON, else None (a message that parsed
    but is no JSON-RPC message, say)."""
    details = error.errors(include_url=False)
    if len(details) != 1 or details[0]["type"] != "json_invalid":
        return None
    line = details[0].get("input")
    return line if isinstance(line, str) else None


def repaired(item: Item) -> Item:
    """A line refused only for lone surrogate escapes, read with each as U+FFFD; any other
    item as it came."""
    if not isinstance(item, ValidationError):
        return item
    line = refused_line(item)
    if line is None:
        return item
    try:
        decoded = json.loads(line)  # keeps a lone surrogate escape as a surrogate
    except ValueError:
        return item  # not JSON at all: the SDK's error stands
    text = json.dumps(decoded, ensure_ascii=False)
    fixed = LONE_SURROGATE.sub(REPLACEMENT, text)
    if fixed == text:
        return item  # refused for something else
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(fixed, by_name=False))
    except ValidationError as exc:
        return exc


class Items(Protocol):
    """What the session reads: the stdio transport's read stream."""

    async def aclose(self) -> None: ...
    async def receive(self) -> Item: ...
    def __aiter__(self) -> Any: ...
    async def __anext__(self) -> Item: ...


class RepairedItems:
    """The stdio transport's read stream, each item passed through `repaired`."""

    def __init__(self, inner: Items) -> None:
        self.inner = inner

    @property
    def last_context(self) -> Any:
        """The sender's context of the last item, which the session runs its handler in."""
        return getattr(self.inner, "last_context", None)

    async def receive(self) -> Item:
        return repaired(await self.inner.receive())

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __aiter__(self) -> RepairedItems:
        return self

    async def __anext__(self) -> Item:
        return repaired(await self.inner.__anext__())

    async def __aenter__(self) -> RepairedItems:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()
