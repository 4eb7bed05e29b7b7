"""Claude.ai data export (``conversations.json``): each conversation's messages in order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zettelmem.transfer.importers.units import (
    Message,
    Rejected,
    Unit,
    chat_group,
    read_export,
    safe_id,
    when,
)

_SPEAKERS = {"human": "User", "user": "User", "assistant": "Claude"}
_HINT = "pass conversations.json from the Claude.ai data export, or choose another --format"


def looks_like(head: str) -> bool:
    """A JSON list of conversations with ``chat_messages``."""
    return head.lstrip().startswith("[") and '"chat_messages"' in head


def read(path: Path, scope: str, granularity: str, redact_secrets: bool) -> Iterator[Unit]:
    """One Group per conversation (InvalidInput now if the file is not a Claude export)."""
    return read_export(
        path, granularity, looks_like, "a Claude.ai export", _HINT, ("uuid", "id"),
        lambda ref, record, ident: conversation(ref, record, scope, granularity,
                                                redact_secrets, ident),
    )  # fmt: skip


def conversation(
    ref: str,
    record: dict[str, Any],
    scope: str,
    granularity: str,
    redact_secrets: bool,
    ident: str | None = None,
) -> Unit:
    """One exported conversation as a Group, or Rejected with the reason. With the
    conversation's ``ident``, its notes' dedupe keys name it and not the file."""
    chat = record.get("chat_messages")
    if not isinstance(chat, list):
        return Rejected(ref, "the conversation has no chat_messages list")
    fallback = when(record.get("created_at"))
    messages = [m for n, raw in enumerate(chat, 1) if (m := _message(raw, n, fallback)) is not None]
    title = str(record.get("name") or "Untitled")
    key = None if ident is None else f"claude:#{safe_id(ident)}"
    return chat_group(
        ref, title, f"claude:{ref}", messages, scope, granularity, redact_secrets, key
    )


def message_text(raw: dict[str, Any]) -> str:
    """The text blocks of ``content`` when there are any, else ``text``."""
    blocks = raw.get("content")
    texts: list[str] = []
    if isinstance(blocks, list):
        texts = [
            b["text"].strip()
            for b in blocks
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        ]
    joined = "\n\n".join(t for t in texts if t)
    if joined:
        return joined
    text = raw.get("text")
    return text.strip() if isinstance(text, str) else ""


def _message(raw: object, number: int, fallback: str | None) -> Message | None:
    if not isinstance(raw, dict):
        return None
    speaker = _SPEAKERS.get(str(raw.get("sender", "")).lower())
    text = message_text(raw)
    if speaker is None or not text:
        return None
    return Message(
        id=str(raw.get("uuid") or number),
        speaker=speaker,
        text=text,
        event_at=when(raw.get("created_at")) or fallback,
        from_user=speaker == "User",
    )
