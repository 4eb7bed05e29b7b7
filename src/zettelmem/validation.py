"""What every front door checks before a note, scope, tag or k reaches the core."""

from __future__ import annotations

import re
from typing import TypeVar

from zettelmem.errors import InvalidInput

C = TypeVar("C", bound=str)

MAX_CONTENT_CHARS = 65_536
MAX_K = 1000
DEFAULT_SCOPE = "default"
SCOPE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$")
TAG_PATTERN = re.compile(r"^[\w][\w.:/+-]{0,63}$", re.UNICODE)


def validate_content(text: str) -> str:
    if not text or not text.strip():
        raise InvalidInput("the note is empty", hint="give_text")
    if len(text) > MAX_CONTENT_CHARS:
        raise InvalidInput(
            f"the note has {len(text)} characters, over the limit of {MAX_CONTENT_CHARS}; "
            "split it into smaller notes"
        )
    if "\x00" in text:
        raise InvalidInput("the note contains a NUL character; remove it and try again")
    return text.strip()


def validate_scope(scope: str) -> str:
    if not SCOPE_PATTERN.match(scope or ""):
        raise InvalidInput(
            f"invalid scope {scope!r}; use 1-128 characters from letters, digits and ._:@/- "
            "starting with a letter or digit"
        )
    return scope


def validate_tag(tag: str) -> str:
    if not TAG_PATTERN.match(tag or ""):
        raise InvalidInput(
            f"invalid tag {tag!r}; use 1-64 letters, digits or ._:/+- starting with a letter "
            "or digit"
        )
    return tag


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
