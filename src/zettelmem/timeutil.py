"""Parsing and formatting of the moments notes carry (ISO-8601, stored as UTC).

The supported range is 0001-01-01T00:00:00 to 9999-12-31T23:59:59 UTC, stored
with four-digit years, so stored moments sort as text and read back as
themselves. A moment outside it (a zoned time whose UTC falls before year 1
or after 9999 included) is refused in one line.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from zettelmem.errors import InvalidInput

STORED_FORMAT = "%Y-%m-%dT%H:%M:%S"
MIN_MOMENT = "0001-01-01T00:00:00"
# The stored format's shape; datetime.fromisoformat then checks the values (a C parser,
# some 20 times faster than strptime, which every note read used to pay for).
_STORED_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
MAX_MOMENT = "9999-12-31T23:59:59"
_SPAN = f"{MIN_MOMENT[:10]} to {MAX_MOMENT[:10]} (UTC)"
_RANGE = f"the supported range is {_SPAN}"


def stored(moment: datetime) -> str:
    """A naive (UTC) datetime in the stored format, always with a four-digit year.

    (``strftime('%Y')`` writes year 999 as ``999`` on glibc, which does not parse back.)
    """
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def now_iso() -> str:
    """The current UTC time in the stored format."""
    return stored(datetime.now(timezone.utc))


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
            f"malformed {{arg}} {text!r}; use ISO-8601 such as 2024-05-01 or 2024-05-01T13:45:00 "
            f"({_RANGE})",
            arg=what,
        ) from None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        except (OverflowError, ValueError):
            raise InvalidInput(f"{{arg}} {text!r} is outside the supported range {_SPAN}; "
                               "pass a moment inside it", arg=what) from None  # fmt: skip
    return stored(moment)


_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def parse_month(text: str, what: str = "month") -> str:
    """A calendar month as YYYY-MM (the first seven characters of a stored moment)."""
    month = text.strip()
    if not _MONTH.fullmatch(month) or month < MIN_MOMENT[:7]:
        raise InvalidInput(f"malformed {{arg}} {text!r}; use YYYY-MM such as 2024-05",
                           arg=what)  # fmt: skip
    return month


def from_epoch(seconds: float) -> str | None:
    """Epoch seconds in the stored format, or None outside the supported range."""
    if not math.isfinite(seconds):
        return None
    try:
        return stored(datetime.fromtimestamp(seconds, timezone.utc))
    except (OverflowError, OSError, ValueError):
        return None


def _read(stored_text: str) -> datetime:
    if not _STORED_SHAPE.fullmatch(stored_text):
        raise ValueError(f"{stored_text!r} is not a stored moment ({STORED_FORMAT})")
    return datetime.fromisoformat(stored_text)


def to_epoch(stored_text: str) -> int:
    """Seconds since the epoch of a stored (UTC) moment."""
    return int(_read(stored_text).replace(tzinfo=timezone.utc).timestamp())


def human_date(stored_text: str) -> str:
    """Words a person would search for: '8 May 2023, Monday'."""
    moment = _read(stored_text)
    return f"{moment.day} {moment.strftime('%B')} {moment.year} {moment.strftime('%A')}"


def is_stored(text: object) -> bool:
    """True for a string already in the stored format and range (as the record keeps it)."""
    if not isinstance(text, str) or not _STORED_SHAPE.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text)  # the shape holds; are the values a real moment?
    except ValueError:
        return False
    return True
