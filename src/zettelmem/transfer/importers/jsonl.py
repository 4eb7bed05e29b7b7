"""Generic chat messages: JSON Lines (one object a line) or a JSON array of message objects.

A message names its speaker (``role``, ``speaker``, ``author`` or ``sender``)
and its text (``content`` or ``text``: a string or text blocks), and may carry
a moment, an id and a conversation key. Messages are grouped by conversation
in file order; without a key the whole file is one conversation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from zettelmem.errors import InvalidInput
from zettelmem.transfer.importers.units import (
    MAX_JSON_DEPTH,
    Message,
    Rejected,
    Unit,
    chat_group,
    check_granularity,
    digest,
    note_position,
    read_head,
    require_list,
    safe_id,
    stream_list,
    when,
)

_SPEAKER_KEYS = ("role", "speaker", "author", "sender")
_TEXT_KEYS = ("content", "text")
_TIME_KEYS = ("timestamp", "time", "created_at")
_CONVERSATION_KEYS = ("conversation", "conversation_id", "session", "session_id", "thread")
_USER = {"user", "human"}
_ASSISTANT = {"assistant", "ai", "bot", "model"}
_SKIPPED = {"system", "tool", "function", "developer"}
_HAS_SPEAKER = re.compile(r'"(?:role|speaker|author|sender)"\s*:')
_HAS_TEXT = re.compile(r'"(?:content|text)"\s*:')
_HINT = "put one message object a line (or a JSON array of them), each with role and content"

Record = tuple[str, Any]  # (where in the file, e.g. "line-3", the parsed value)


def looks_like(head: str) -> bool:
    """JSON Lines, or a JSON array, whose first object has a speaker and a text field."""
    body = head.lstrip()
    if body.startswith("["):
        return bool(_HAS_SPEAKER.search(head) and _HAS_TEXT.search(head))
    line, newline, _ = body.partition("\n")
    try:
        first = json.loads(line)
    except RecursionError:  # a first line too deep to parse: judge it by its keys
        return line.startswith("{") and bool(_HAS_SPEAKER.search(line) and _HAS_TEXT.search(line))
    except ValueError:
        # A first line longer than the head (one giant message): judge by its keys.
        cut = not newline and line.startswith("{")
        return cut and bool(_HAS_SPEAKER.search(line) and _HAS_TEXT.search(line))
    return (
        isinstance(first, dict)
        and any(k in first for k in _SPEAKER_KEYS)
        and any(k in first for k in _TEXT_KEYS)
    )


def read(path: Path, scope: str, granularity: str, redact_secrets: bool) -> Iterator[Unit]:
    """One Group per conversation, then a Rejected unit per unreadable line or a bad tail."""
    check_granularity(granularity)
    head = read_head(path)
    body = head.lstrip()
    if body.startswith("["):
        require_list(path, head, looks_like, "a list of chat messages", _HINT)
        records: Iterable[Record | Rejected] = _items(path)
    elif not body.startswith("{"):
        raise InvalidInput(f"{path} is not JSON Lines; {_HINT}")
    else:
        first, newline, _ = body.partition("\n")
        try:
            json.loads(first)
        except RecursionError:
            pass  # a line too deep is one rejected line, as in _lines
        except ValueError:
            if newline:  # a whole first line that does not parse: pretty-printed JSON
                raise InvalidInput(
                    f"{path} is a JSON object spread over several lines, not JSON Lines; {_HINT}"
                ) from None
        records = _lines(path)
    return _units(path, records, scope, granularity, redact_secrets)


def _lines(path: Path) -> Iterator[Record | Rejected]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            note_position(path, handle.tell())
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except RecursionError:
                record = None
                deep = True
            except ValueError as exc:
                detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
                yield Rejected(
                    f"{path.name}#line-{number}", f"line {number} is not JSON ({detail})"
                )
                continue
            else:
                deep = _depth(record) > MAX_JSON_DEPTH
            if deep:
                yield Rejected(f"{path.name}#line-{number}", f"line {number} is nested more "
                               f"than {MAX_JSON_DEPTH} levels deep")  # fmt: skip
            else:
                yield f"line-{number}", record


def _depth(value: object) -> int:
    """How deep a parsed JSON value nests (a scalar: 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _items(path: Path) -> Iterator[Record | Rejected]:
    for entry in stream_list(path):
        yield entry if isinstance(entry, Rejected) else (f"item-{entry[0]}", entry[1])


def _units(
    path: Path,
    records: Iterable[Record | Rejected],
    scope: str,
    granularity: str,
    redact_secrets: bool,
) -> Iterator[Unit]:
    conversations: dict[str, list[Message]] = {}
    named: set[str] = set()  # conversations the records name (not the file's stem)
    seen: set[tuple[str, str]] = set()
    keys: dict[tuple[str, str], int] = {}
    rejected: list[Rejected] = []
    for entry in records:
        if isinstance(entry, Rejected):
            rejected.append(entry)
            continue
        where, value = entry
        if not isinstance(value, dict):
            rejected.append(Rejected(f"{path.name}#{where}", "the record is not a JSON object"))
            continue
        parsed = _message(value, where)
        if parsed is None:
            continue
        conversation, message = parsed
        if conversation:
            named.add(conversation)
        conversation = conversation or path.stem
        if (conversation, message.id) in seen:  # a repeated id must not dedupe a new message
            message = Message(f"{message.id}@{where}", *_rest(message), key=message.key)
        seen.add((conversation, message.id))
        # The dedupe key is the message's own content (with its id, speaker and time, and
        # how often the same came before in the conversation), never the file's name or a
        # line number: a copy of the log adds nothing, another log's line 3 is not this one.
        assert message.key is not None
        repeat = keys.get((conversation, message.key), 0)
        keys[(conversation, message.key)] = repeat + 1
        if repeat:
            message = Message(message.id, *_rest(message), key=f"{message.key}@{repeat + 1}")
        conversations.setdefault(conversation, []).append(message)
    for conversation, messages in conversations.items():
        ref = f"{path.name}#{conversation}"
        key = f"jsonl:#{safe_id(conversation)}" if conversation in named else "jsonl:#"
        yield chat_group(
            ref, conversation, f"jsonl:{ref}", messages, scope, granularity, redact_secrets, key
        )
    yield from rejected  # after what was read, as a truncated export promises


def _rest(message: Message) -> tuple[str, str, str | None, bool | None]:
    return message.speaker, message.text, message.event_at, message.from_user


def _speaker(record: dict[str, Any]) -> tuple[str, bool | None] | None:
    """(speaker, from the user?) or None for a message nobody should remember (system, tool)."""
    for key in _SPEAKER_KEYS:
        value = record.get(key)
        if isinstance(value, dict):
            value = value.get("role") or value.get("name")
        if isinstance(value, str) and value.strip():
            name = value.strip()
            lowered = name.lower()
            if lowered in _SKIPPED:
                return None
            if lowered in _USER:
                return "User", True
            if lowered in _ASSISTANT:
                return "Assistant", False
            return name, None
    return "Unknown", None


def _block_text(block: object) -> str:
    if isinstance(block, str):
        return block.strip()
    if isinstance(block, dict) and block.get("type", "text") == "text":
        text = block.get("text")
        return text.strip() if isinstance(text, str) else ""
    return ""  # images, tool calls and the like


def _text(record: dict[str, Any]) -> str:
    for key in _TEXT_KEYS:
        value = record.get(key)
        if isinstance(value, list):
            value = "\n\n".join(t for t in map(_block_text, value) if t)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _scalar(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value).strip() or None


def _message(record: dict[str, Any], where: str) -> tuple[str | None, Message] | None:
    speaker = _speaker(record)
    text = _text(record)
    if speaker is None or not text:
        return None
    conversation = next(
        (c for k in _CONVERSATION_KEYS if (c := _scalar(record.get(k))) is not None), None
    )
    moment = next((m for k in _TIME_KEYS if (m := when(record.get(k))) is not None), None)
    given = _scalar(record.get("id"))
    key = digest("\x1f".join((given or "", speaker[0], moment or "", text)))
    ident = given or where.split("-", 1)[1]
    return conversation, Message(ident, speaker[0], text, moment, speaker[1], key)
