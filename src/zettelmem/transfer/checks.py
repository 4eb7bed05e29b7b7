"""What each row of a JSONL export must hold before it is restored into the record.

A restored note passes the same checks as a note from `remember` (content,
scope, tags, id, source, moments in the supported range, a known status);
links, changes, verdicts and conversation versions are checked for the values
the record and its readers rely on. A row that fails raises InvalidInput naming the field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from zettelmem.errors import InvalidInput
from zettelmem.models import LINK_KINDS, STATUSES, VERDICTS
from zettelmem.store.links import NOTE_FIELDS
from zettelmem.timeutil import is_stored
from zettelmem.validation import (
    MAX_CONTENT_CHARS,
    MAX_SOURCE_CHARS,
    validate_content,
    validate_note_id,
    validate_scope,
    validate_source,
    validate_tag,
)

MAX_WORDS = 256  # keywords (and tags) a note may carry
MAX_WORD_CHARS = 256
REVIEWS = ("approved", "rejected")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _field(kind: str, key: str, why: str) -> InvalidInput:
    return InvalidInput(f"{kind} field {key!r} {why}")


def _moment(kind: str, row: dict[str, Any], key: str, optional: bool = False) -> None:
    value = row.get(key)
    if optional and value is None:
        return
    if not is_stored(value):
        raise _field(kind, key, "is not a moment of 0001-01-01T00:00:00..9999-12-31T23:59:59")


def _text(kind: str, row: dict[str, Any], key: str, limit: int, optional: bool = False) -> None:
    value = row.get(key)
    if optional and value is None:
        return
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise _field(kind, key, f"must be text of at most {limit} characters without NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _field(kind, key, "is not valid UTF-8") from None


def _checked(kind: str, key: str, check: Callable[[Any], object], value: Any) -> None:
    try:
        check(value)
    except InvalidInput as exc:
        raise _field(kind, key, f"is invalid ({exc})") from None


def _words(kind: str, row: dict[str, Any], key: str, tags: bool) -> list[str]:
    """The row's words as stored: tags as `remember` writes them (lower case, no '#')."""
    value = row.get(key)
    if not isinstance(value, list) or len(value) > MAX_WORDS:
        raise _field(kind, key, f"must be a list of at most {MAX_WORDS} strings")
    for word in value:
        if tags:
            _checked(kind, key, validate_tag, word)
        elif not isinstance(word, str) or not word.strip() or len(word) > MAX_WORD_CHARS:
            raise _field(kind, key, f"must hold strings of 1-{MAX_WORD_CHARS} characters")
    return list(dict.fromkeys(validate_tag(w) for w in value)) if tags else list(value)


def check_note(row: dict[str, Any]) -> dict[str, Any]:
    """The note as `remember` would store it, or InvalidInput naming the bad field."""
    _checked("note", "id", validate_note_id, row.get("id"))
    content = row.get("content")
    if not isinstance(content, str):
        raise _field("note", "content", "must be text")
    _checked("note", "content", validate_content, content)
    _checked("note", "scope", validate_scope, row.get("scope"))
    _checked("note", "source", validate_source, row.get("source"))
    _moment("note", row, "created_at")
    _moment("note", row, "event_at", optional=True)
    _words("note", row, "keywords", tags=False)
    tags = _words("note", row, "tags", tags=True)
    _text("note", row, "context", MAX_CONTENT_CHARS)
    _text("note", row, "dedupe_key", MAX_SOURCE_CHARS, optional=True)
    if row.get("status") not in STATUSES:
        raise _field("note", "status", f"must be one of: {', '.join(STATUSES)}")
    # The optional fields may be absent from a hand-made row: absent means none.
    return {**row, "tags": tags, "event_at": row.get("event_at"),
            "dedupe_key": row.get("dedupe_key"), "content": validate_content(content)}  # fmt: skip


def _weight(kind: str, key: str, value: Any, low: float, high: float, open_low: bool) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value > high or value < low or (open_low and value == low):
        raise _field(kind, key, f"must be a number in {'(' if open_low else '['}{low}, {high}]")


def check_link(row: dict[str, Any]) -> dict[str, Any]:
    _checked("link", "src", validate_note_id, row.get("src"))
    _checked("link", "dst", validate_note_id, row.get("dst"))
    if row.get("kind") not in LINK_KINDS:
        raise _field("link", "kind", f"must be one of: {', '.join(LINK_KINDS)}")
    _weight("link", "weight", row.get("weight"), 0.0, 1.0, open_low=True)
    _moment("link", row, "created_at")
    return row


def _change_value(row: dict[str, Any], key: str) -> None:
    """What revert will write back must be what the field holds."""
    value, field = row.get(key), str(row.get("field"))
    if value is None:
        return
    _text("change", row, key, MAX_CONTENT_CHARS)
    try:
        if field in ("tags", "keywords"):
            _words("change", {key: json.loads(value)}, key, tags=field == "tags")
        elif field == "status" and value not in STATUSES:
            raise ValueError(value)
        elif field.startswith("link:") and (weight := json.loads(value)) is not None:
            _weight("change", key, weight, 0.0, 1.0, open_low=False)  # null: no link
    except (ValueError, RecursionError):
        raise _field("change", key, f"does not hold a valid {field}") from None


def check_change(row: dict[str, Any]) -> dict[str, Any]:
    _checked("change", "change_id", validate_note_id, row.get("change_id"))
    _checked("change", "note_id", validate_note_id, row.get("note_id"))
    field = row.get("field")
    link_field = isinstance(field, str) and field.startswith("link:") and field.count(":") == 2
    if field not in NOTE_FIELDS and not link_field:
        raise _field("change", "field", f"must be one of {', '.join(NOTE_FIELDS)} or link:DST:KIND")
    _change_value(row, "before")
    _change_value(row, "after")
    _text("change", row, "reason", MAX_SOURCE_CHARS)
    _moment("change", row, "at")
    _checked("change", "reverted_by", lambda v: v is None or validate_note_id(v),
             row.get("reverted_by"))  # fmt: skip
    return row


def check_verdict(row: dict[str, Any]) -> dict[str, Any]:
    _checked("verdict", "note_id", validate_note_id, row.get("note_id"))
    if row.get("verdict") not in VERDICTS:
        raise _field("verdict", "verdict", f"must be one of: {', '.join(VERDICTS)}")
    _weight("verdict", "risk", row.get("risk"), 0.0, 1.0, open_low=False)
    reasons = row.get("reasons")
    if not isinstance(reasons, list) or not all(
        isinstance(r, str) and len(r) <= MAX_SOURCE_CHARS for r in reasons
    ):
        raise _field("verdict", "reasons", "must be a list of strings")
    _moment("verdict", row, "at")
    if row.get("review") not in (None, *REVIEWS):
        raise _field("verdict", "review", f"must be null or one of: {', '.join(REVIEWS)}")
    _moment("verdict", row, "reviewed_at", optional=True)
    return row


def check_conversation_version(row: dict[str, Any]) -> dict[str, Any]:
    """A conversation's version decides which of its exports an import follows: a damaged
    one must not leave every later export of it looking older."""
    value = row.get("fingerprint")
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise _field("conversation_version", "fingerprint", "must be 64 lower-case hex digits")
    _checked("conversation_version", "scope", validate_scope, row.get("scope"))
    _moment("conversation_version", row, "updated_at")
    return row


CHECKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "note": check_note,
    "link": check_link,
    "change": check_change,
    "verdict": check_verdict,
    "conversation_version": check_conversation_version,
}
