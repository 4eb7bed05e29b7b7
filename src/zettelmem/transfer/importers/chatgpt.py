"""ChatGPT data export (``conversations.json``): the visible branch of each conversation.

A conversation is a tree of messages (``mapping``); editing or regenerating a
message adds a sibling branch. What the person saw is the branch from
``current_node`` up to the root, so that is the one imported. System, tool
and hidden messages, tool calls and non-text content are left out. The
messages off that branch are named too, each with the message now at its
place: imported again after an edit, a conversation's stored notes of the
edited-away branch are superseded by the branch shown. The conversation's
``update_time`` dates the export: one older than an export the store already
took the conversation from changes nothing in it.
"""

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

_SPEAKERS = {"user": "User", "assistant": "ChatGPT"}
_TEXT_TYPES = ("text", "multimodal_text")
_HINT = "pass conversations.json from the ChatGPT data export, or choose another --format"


class _Broken(Exception):
    """A conversation whose message tree cannot be followed."""


def looks_like(head: str) -> bool:
    """A JSON list of conversations with a message ``mapping``."""
    return (
        head.lstrip().startswith("[")
        and '"mapping"' in head
        and ('"current_node"' in head or '"create_time"' in head)
    )


def read(path: Path, scope: str, granularity: str, redact_secrets: bool) -> Iterator[Unit]:
    """One Group per conversation (InvalidInput now if the file is not a ChatGPT export)."""
    return read_export(
        path, granularity, looks_like, "a ChatGPT export", _HINT, ("conversation_id", "id"),
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
    mapping = record.get("mapping")
    if not isinstance(mapping, dict):
        return Rejected(ref, "the conversation has no message mapping")
    try:
        branch = visible_branch(mapping, record.get("current_node"))
    except _Broken as exc:
        return Rejected(ref, str(exc))
    fallback = when(record.get("create_time"))
    shown = [(depth, m) for depth, node in enumerate(branch)
             if (m := _message(node, fallback)) is not None]  # fmt: skip
    title = str(record.get("title") or "Untitled")
    key = None if ident is None else f"chatgpt:#{safe_id(ident)}"
    return chat_group(
        ref, title, f"chatgpt:{ref}", [m for _, m in shown], scope, granularity,
        redact_secrets, key, off_branch(mapping, branch, shown),
        when(record.get("update_time")),
    )  # fmt: skip


def off_branch(
    mapping: dict[str, Any], branch: list[dict[str, Any]], shown: list[tuple[int, Message]]
) -> dict[str, str]:
    """The id of every message off the visible branch -> the id of the branch's message
    at its place: at the same depth in the tree (or the next one down that is shown), else
    the branch's last. An edited message's is the edit; its answer's is the new answer."""
    if not shown:
        return {}
    on = {id(node) for node in branch}
    depths: dict[str, int] = {}
    out: dict[str, str] = {}
    for node_id, node in mapping.items():
        if not isinstance(node, dict) or id(node) in on:
            continue
        message = node.get("message")
        depth = _depth(mapping, node_id, depths)
        ident = str(message.get("id") or node.get("id") or "") if isinstance(message, dict) else ""
        if not ident or depth is None:
            continue
        out[ident] = next((m for d, m in shown if d >= depth), shown[-1][1]).id
    return out


def _depth(mapping: dict[str, Any], node_id: str, known: dict[str, int]) -> int | None:
    """How many ancestors a node has in the mapping (None inside a cycle)."""
    chain: list[str] = []
    seen: set[str] = set()
    current: object = node_id
    while isinstance(current, str) and current not in known:
        node = mapping.get(current)
        if not isinstance(node, dict):
            break
        if current in seen:
            return None
        seen.add(current)
        chain.append(current)
        current = node.get("parent")
    depth = known.get(current, -1) if isinstance(current, str) else -1
    for ancestor in reversed(chain):
        depth += 1
        known[ancestor] = depth
    return known[node_id]


def visible_branch(mapping: dict[str, Any], current: object) -> list[dict[str, Any]]:
    """The nodes from the root down to ``current`` (or to the newest leaf when it is missing)."""
    node_id = current if isinstance(current, str) and current in mapping else _newest_leaf(mapping)
    if node_id is None:
        raise _Broken("current_node is missing from the mapping and no leaf can replace it")
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    while isinstance(node_id, str):
        if node_id in seen:
            raise _Broken(f"cycle in the message mapping (node {node_id} is its own ancestor)")
        seen.add(node_id)
        node = mapping.get(node_id)
        if not isinstance(node, dict):
            break  # a parent that is not in the mapping: treat the chain as rooted here
        chain.append(node)
        node_id = node.get("parent")
    chain.reverse()
    return chain


def _newest_leaf(mapping: dict[str, Any]) -> str | None:
    best: tuple[float, int] | None = None
    found = None
    for position, (node_id, node) in enumerate(mapping.items()):
        if not isinstance(node, dict):
            continue
        children = node.get("children") or []
        if any(isinstance(c, str) and c in mapping for c in children):
            continue
        message = node.get("message")
        moment = message.get("create_time") if isinstance(message, dict) else None
        key = (float(moment) if isinstance(moment, (int, float)) else float("-inf"), position)
        if best is None or key > best:
            best, found = key, node_id
    return found


def _message(node: dict[str, Any], fallback: str | None) -> Message | None:
    message = node.get("message")
    if not isinstance(message, dict):
        return None
    author = message.get("author")
    role = author.get("role") if isinstance(author, dict) else None
    metadata = message.get("metadata")
    if role not in _SPEAKERS or (
        isinstance(metadata, dict) and metadata.get("is_visually_hidden_from_conversation")
    ):
        return None
    if message.get("recipient") not in (None, "all"):
        return None  # a call to a tool (browser, python, memory), not a reply to the person
    content = message.get("content")
    if not isinstance(content, dict) or content.get("content_type") not in _TEXT_TYPES:
        return None
    parts = content.get("parts")
    texts = [p.strip() for p in parts or [] if isinstance(p, str) and p.strip()]
    if not texts:
        return None
    return Message(
        id=str(message.get("id") or node.get("id") or ""),
        speaker=_SPEAKERS[role],
        text="\n".join(texts),
        event_at=when(message.get("create_time")) or fallback,
        from_user=role == "user",
    )
