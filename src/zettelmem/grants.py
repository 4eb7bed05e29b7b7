"""Who may read and write which scopes: access tokens, their grants, and the checks.

A grant is ``PATTERN:MODE``: a scope pattern (scope syntax, where a whole path segment
may be ``*``) and ``r``, ``w`` or ``rw``. A ``*`` segment matches exactly one segment,
except as the last segment, where it matches one or more (``team/*`` covers ``team/a``
and ``team/a/b``, not ``team``); ``*`` alone matches every scope.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from zettelmem.errors import InvalidInput
from zettelmem.validation import SCOPE_PATTERN

Mode = Literal["r", "w", "rw"]
MODES: tuple[Mode, ...] = ("r", "w", "rw")
TOKEN_PREFIX = "zm_"
# 32 random bytes: 256 bits, far beyond guessing or brute-forcing a hash of it.
TOKEN_BYTES = 32
TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MAX_GRANTS = 64


@dataclass(frozen=True)
class Grant:
    """One pattern with its mode."""

    pattern: str
    mode: Mode

    def matches(self, scope: str) -> bool:
        want = self.pattern.split("/")
        have = scope.split("/")
        if want[-1] == "*":
            if len(have) < len(want):
                return False
            have = have[: len(want) - 1] + ["*"]
        elif len(have) != len(want):
            return False
        return all(w in ("*", h) for w, h in zip(want, have, strict=True))

    def __str__(self) -> str:
        return f"{self.pattern}:{self.mode}"


@dataclass(frozen=True)
class TokenInfo:
    """A stored token: its name, grants and times (never the token itself)."""

    name: str
    grants: tuple[str, ...]
    created_at: str
    last_used: str | None = None


@dataclass(frozen=True)
class Access:
    """What one caller may do. ``grants`` None: every scope, read and write (the owner)."""

    name: str
    grants: tuple[Grant, ...] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.grants is None

    def can_read(self, scope: str) -> bool:
        return self._allows(scope, "r")

    def can_write(self, scope: str) -> bool:
        return self._allows(scope, "w")

    def _allows(self, scope: str, mode: str) -> bool:
        if self.grants is None:
            return True
        return any(mode in g.mode and g.matches(scope) for g in self.grants)

    def readable(self, scopes: Iterable[str]) -> tuple[str, ...]:
        return tuple(s for s in scopes if self.can_read(s))

    def patterns(self, mode: str) -> str:
        """The patterns granting a mode, for an error message ('team/*, shared')."""
        if self.grants is None:
            return "every scope"
        found = [g.pattern for g in self.grants if mode in g.mode]
        return ", ".join(found) if found else "no scope"


OWNER = Access("owner")


def parse_grant(text: str) -> Grant:
    """'team/*:rw' -> Grant('team/*', 'rw'); anything else: one line naming the fix."""
    pattern, _, mode = str(text).strip().rpartition(":")
    if mode not in MODES or not pattern:
        raise InvalidInput(
            f"invalid grant {text!r}; write SCOPE_PATTERN:MODE with MODE r, w or rw, "
            "e.g. 'team/*:rw' or 'shared:r'"
        )
    segments = pattern.split("/")
    literal = "/".join("x" if s == "*" else s for s in segments)
    if any("*" in s and s != "*" for s in segments) or not SCOPE_PATTERN.match(literal):
        raise InvalidInput(
            f"invalid scope pattern {pattern!r} in grant {text!r}; use scope characters "
            "(letters, digits, ._:@/-) with `*` only as a whole segment, e.g. 'team/*'"
        )
    return Grant(pattern, next(m for m in MODES if m == mode))


def parse_grants(texts: Sequence[str]) -> tuple[Grant, ...]:
    if not texts:
        raise InvalidInput("a token needs at least one grant; pass e.g. --grant 'team/*:rw'")
    if len(texts) > MAX_GRANTS:
        raise InvalidInput(f"at most {MAX_GRANTS} grants per token; merge them with `*`")
    return tuple(dict.fromkeys(parse_grant(t) for t in texts))


def validate_token_name(name: str) -> str:
    if not isinstance(name, str) or not TOKEN_NAME.match(name):
        raise InvalidInput(
            f"invalid token name {name!r}; use 1-64 letters, digits or ._@- starting with a "
            "letter or digit"
        )
    return name


def new_token() -> str:
    """A fresh token: the prefix (so scanners and people recognise it) and 32 random bytes."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the record keeps instead of a token.

    A plain SHA-256 suffices here, unlike for passwords: a token holds 256 random bits,
    so no dictionary or brute force can invert its hash, and a slow KDF would only slow
    down every request's lookup. Lookup by hash also needs no per-token salt.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def access_of(info: TokenInfo) -> Access:
    return Access(info.name, tuple(parse_grant(g) for g in info.grants))
