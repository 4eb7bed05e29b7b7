"""Parsing and formatting of the moments notes carry (ISO-8601, stored as UTC)."""

from __future__ import annotations

from datetime import datetime, timezone

from zettelmem.errors import InvalidInput

STORED_FORMAT = "%Y-%m-%dT%H:%M:%S"


def now_iso() -> str:
    """The current UTC time in the stored format."""
    return datetime.now(timezone.utc).strftime(STORED_FORMAT)


def parse_when(text: str, what: str = "date") -> str:
    """Normalise an ISO-8601 date or datetime to the stored UTC format.

    ``what`` names the argument the text came from (each front door words it).

    Naive values are taken as they are (chat exports rarely say their zone);
    aware values are converted to UTC.
    """
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"malformed {{arg}} {text!r}; use ISO-8601 such as 2024-05-01 or 2024-05-01T13:45:00",
            arg=what,
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime(STORED_FORMAT)


def to_epoch(stored: str) -> int:
    """Seconds since the epoch of a stored (UTC) moment."""
    moment = datetime.strptime(stored, STORED_FORMAT).replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def human_date(stored: str) -> str:
    """Words a person would search for: '8 May 2023, Monday'."""
    moment = datetime.strptime(stored, STORED_FORMAT)
    return f"{moment.day} {moment.strftime('%B %Y')} {moment.strftime('%A')}"
