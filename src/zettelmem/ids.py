"""Note ids: short, stable, sortable by creation time, never reused."""

from __future__ import annotations

import hashlib
import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_lock = threading.Lock()
_last = (0, 0)


def _b32(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


ID_LENGTH = 16  # characters of a note id (see new_id)


def new_id() -> str:
    """A 16-character id: 48-bit milliseconds, then 30 random bits.

    Within one process ids strictly increase even inside one millisecond (the
    random part is incremented from a random start below 2**29), so sort order
    is creation order. Across processes the random part makes collisions
    negligible; the record's UNIQUE constraint catches the rest.
    """
    global _last
    with _lock:
        ms = int(time.time() * 1000)
        last_ms, last_rand = _last
        if ms <= last_ms and last_rand + 1 < 1 << 30:
            ms, rand = last_ms, last_rand + 1
        else:
            ms = max(ms, last_ms + (1 if ms <= last_ms else 0))
            rand = int.from_bytes(os.urandom(4), "big") >> 3
        _last = (ms, rand)
    return _b32(ms, 10) + _b32(rand, 6)


def content_key(text: str, event_at: str | None = None) -> str:
    """The dedupe key of a note written without one: its text, and when it happened if
    that is given (the same sentence about another day is another note)."""
    keyed = text if event_at is None else f"{text}\x1f{event_at}"
    return "sha256:" + hashlib.sha256(keyed.encode("utf-8")).hexdigest()
