"""What every front door checks before a note, scope, tag or k reaches the core."""

from __future__ import annotations

import re
import unicodedata
from typing import TypeVar

from zettelmem.errors import InvalidInput
from zettelmem.text import unix_newlines

C = TypeVar("C", bound=str)

MAX_CONTENT_CHARS = 65_536
MAX_K = 1000
MAX_LIMIT = 1_000_000_000  # `--limit`: any count a store can hold; SQLite overflows past 2**63
MAX_SOURCE_CHARS = 2048
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
DEFAULT_SCOPE = "default"
SCOPE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$")
TAG_PATTERN = re.compile(r"^[\w][\w.:/+-]{0,63}$", re.UNICODE)


def _shown(value: object, limit: int = 60) -> str:
    """A value as an error message quotes it: repr, cut short, on one line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _utf8(text: str, what: str) -> None:
    """InvalidInput for text that is not UTF-8 (lone surrogates: undecodable bytes in argv)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{what} is not valid UTF-8 (character {exc.start}); pass UTF-8 text"
        ) from None


def validate_content(text: str) -> str:
    _utf8(text or "", "the note")
    if not text or not text.strip():
        raise InvalidInput("the note is empty", hint="give_text")
    if len(text) > MAX_CONTENT_CHARS:
        raise InvalidInput(
            f"the note has {len(text)} characters, over the limit of {MAX_CONTENT_CHARS}; "
            "split it into smaller notes"
        )
    if "\x00" in text:
        raise InvalidInput("the note contains a NUL character; remove it and try again")
    return unix_newlines(text).strip()


def validate_scope(scope: str) -> str:
    if not isinstance(scope, str) or not SCOPE_PATTERN.match(scope):
        raise InvalidInput(
            f"invalid scope {_shown(scope)}; use 1-128 characters from letters, digits and ._:@/- "
            "starting with a letter or digit"
        )
    return scope


def validate_tag(tag: str) -> str:
    """A tag as stored: "#Travel" (how people and Obsidian write tags) is "travel" at every
    door, the CLI's options, `--batch` lines, the MCP tools and the importers alike. Tags
    are lower case, so one topic is one tag (stored tags match whatever their case)."""
    if isinstance(tag, str) and tag.startswith("#"):
        tag = tag[1:]
    if isinstance(tag, str):
        # Lower case, composed ("café" typed either way is one tag); the dotted capital I
        # lowers to "i" plus a combining dot, which no one types: "İstanbul" is "istanbul".
        tag = unicodedata.normalize("NFC", tag.lower()).replace("i\u0307", "i")
    if not isinstance(tag, str) or not TAG_PATTERN.match(tag):
        raise InvalidInput(
            f"invalid tag {_shown(tag)}; use 1-64 letters, digits or ._:/+- starting with a letter "
            "or digit"
        )
    return tag


def validate_source(source: str) -> str:
    """Provenance: 1 to 2048 characters of UTF-8 text without control characters."""
    if not isinstance(source, str) or not source.strip():
        raise InvalidInput("the source is empty; pass where the memory came from, e.g. cli")
    _utf8(source, "the source")
    if len(source) > MAX_SOURCE_CHARS or any(ord(c) < 32 for c in source):
        raise InvalidInput(
            f"invalid source {_shown(source)}; use at most {MAX_SOURCE_CHARS} characters "
            "without control characters"
        )
    return source


def validate_note_id(note_id: str) -> str:
    """A note id as the record makes them: letters, digits, _ and -, at most 64."""
    if not isinstance(note_id, str) or not ID_PATTERN.match(note_id):
        raise InvalidInput(
            f"invalid note id {_shown(note_id)}; ids are 1-64 letters, digits, _ or -"
        )
    return note_id


def validate_limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"--limit must be between 1 and {MAX_LIMIT:,}, got {limit}")
    return limit


def validate_k(k: int) -> int:
    if k < 1 or k > MAX_K:
        raise InvalidInput(f"{{arg}} must be between 1 and {MAX_K}, got {k}", arg="k")
    return k


def validate_choice(value: str, allowed: tuple[C, ...], what: str) -> C:
    """VALUE as one of a closed vocabulary (a Literal's values), or a one-line error."""
    for known in allowed:
        if value == known:
            return known
    raise InvalidInput(f"unknown {what} {value!r}; use one of: {', '.join(allowed)}")
