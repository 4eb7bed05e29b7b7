"""What every importer yields (a Group of notes or a Rejected record) and how chats become them.

A Group is one conversation or one document and is written as one unit. The
helpers here are shared by the parsers: moments to the stored format, long
text split at sentence boundaries, chat messages packed into notes at the
chosen granularity, and a streamed JSON list that turns a truncated file into
a last Rejected unit instead of an exception.
"""

from __future__ import annotations

import codecs
import contextlib
import contextvars
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]

from zettelmem.errors import InvalidInput
from zettelmem.models import GRANULARITIES, NewNote
from zettelmem.redaction import redact
from zettelmem.store.threads import thread_of
from zettelmem.timeutil import from_epoch, parse_when, stored
from zettelmem.validation import MAX_CONTENT_CHARS

MESSAGE_LIMIT = 20_000  # longer messages (and exchanges) become several notes
SESSION_LIMIT = 4_000  # one note of a whole conversation
HEAD_BYTES = 64 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, eq=False)
class Group:
    """One conversation or one document: written as one unit (hashed and compared by identity)."""

    ref: str
    title: str
    notes: list[NewNote]
    wikilinks: list[tuple[str, str]] = field(default_factory=list)  # (note source, target title)
    titles: dict[str, str] = field(default_factory=dict)  # note source -> its title
    redacted: int = 0  # secrets replaced in this group's notes
    truncated: int = 0  # messages (or paragraphs) cut at the note limit
    # A document read whole again: the thread of its notes. Its stored notes that the
    # document no longer holds (edited or deleted text) are superseded by it.
    replaces: str | None = None
    # A conversation (with `replaces`, its thread): only its stored notes of these
    # messages are superseded, the messages the export holds off the branch shown (edited
    # or regenerated away); each maps to the source of the note now at its place ("" when
    # none). A message the export does not hold (an older export's) is left alone.
    in_place_of: dict[str, str] | None = None
    # A conversation (with `replaces`): when it last changed in this export (stored format;
    # None when the export does not say). Its export is older than one the store took the
    # conversation from when this is earlier: it then leaves the conversation alone.
    updated: str | None = None


@dataclass(frozen=True)
class Rejected:
    """A record (or the rest of a file) that could not be read, and why, in one line."""

    ref: str
    reason: str


Unit = Group | Rejected


@dataclass(frozen=True)
class Message:
    """One chat message before it becomes (part of) a note."""

    id: str
    speaker: str  # "User", "ChatGPT", "Claude", "Assistant" or a given name
    text: str
    event_at: str | None
    from_user: bool | None = None  # None: named speakers, no user/assistant roles
    key: str | None = None  # its identity in any copy of the export (None: the id)


# -- moments -----------------------------------------------------------------------------

_FRACTION = re.compile(r"([T ]\d\d:\d\d:\d\d)\.(\d+)")
_COMPACT_OFFSET = re.compile(r"([+-]\d\d)(\d\d)$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


# Moments an import was given but could not read (its notes are then dated by the
# import): counted per import run (see `counting_unread`), reported to the user.
_UNREAD: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "zettelmem_unread_moments", default=None
)


@contextlib.contextmanager
def counting_unread() -> Iterator[list[int]]:
    """Count the moments `when` cannot read in this context while the block runs: yields
    the counter (one integer in a list) the importers add to."""
    tally = [0]
    token = _UNREAD.set(tally)
    try:
        yield tally
    finally:
        _UNREAD.reset(token)


def unread(value: object) -> None:
    """Count a moment the input gives that could not be read (for the import's report)."""
    tally = _UNREAD.get()
    if tally is not None and value not in (None, "") and not isinstance(value, bool):
        tally[0] += 1


def when(value: object) -> str | None:
    """Epoch seconds or milliseconds, ISO-8601 text, or a date with its month spelled out
    ("Jan 17, 2024", "17 January 2024 10:00"), in the stored UTC format; else None (and,
    for a value that is there but unreadable, counted: see `counting_unread`). Dates of
    digits alone in another order ("12/05/2024") are not guessed: day and month could be
    either way round."""
    found = _when(value)
    if found is None and not (isinstance(value, str) and not value.strip()):
        unread(value)
    return found


def _when(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) > 1e11 else value  # 1e11 s is the year 5138
        return from_epoch(seconds)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if _NUMBER.match(text):
        return _when(float(text)) if len(text) < 40 else None
    # Python 3.10 reads only 3 or 6 fraction digits and offsets with a colon.
    text = _FRACTION.sub(lambda m: f"{m.group(1)}.{m.group(2)[:6].ljust(6, '0')}", text)
    text = _COMPACT_OFFSET.sub(r"\1:\2", text)
    try:
        return parse_when(text)
    except InvalidInput:
        return spelled_date(text)


_MONTHS = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")), 1)
    for name in names
}  # fmt: skip
_SPELLED = re.compile(
    r"^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?"
    r"(?:(?P<m1>[a-z]+)\.?\s+(?P<d1>\d{1,2})(?:st|nd|rd|th)?|"
    r"(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>[a-z]+)\.?),?\s+(?P<y>\d{4})"
    r"(?:,?\s+(?:at\s+)?(?P<h>\d{1,2}):(?P<min>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ap>[ap]\.?m\.?)?)?$",
    re.IGNORECASE,
)


def spelled_date(text: str) -> str | None:
    """ "Jan 17, 2024", "17 January 2024", "Tue, 17 Jan 2024 10:00", "May 12, 2024 3:05 pm"
    in the stored format (naive, as written); None for anything else."""
    found = _SPELLED.match(" ".join(text.split()))
    if not found:
        return None
    month = _MONTHS.get((found["m1"] or found["m2"]).lower())
    if month is None:
        return None
    day, year = int(found["d1"] or found["d2"]), int(found["y"])
    hour, minute, second = int(found["h"] or 0), int(found["min"] or 0), int(found["s"] or 0)
    if found["ap"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if found["ap"].lower().startswith("p") else 0)
    try:
        return stored(datetime(year, month, day, hour, minute, second))
    except ValueError:
        return None


# -- long text ---------------------------------------------------------------------------

# From the start of a run of marks only: tried inside "......" it would rescan the run.
_SENTENCE_END = re.compile(
    r"(?<![.!?\u2026\u3002\uff01\uff1f])[.!?\u2026\u3002\uff01\uff1f]+[\"'\u201d\u2019)\]]*\s+"
    r"|\n+"
)
_SPACE = re.compile(r"\s+")


def _cut_after(text: str, pattern: re.Pattern[str]) -> list[str]:
    pieces, start = [], 0
    for match in pattern.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _segments(text: str, limit: int) -> Iterator[str]:
    for sentence in _cut_after(text, _SENTENCE_END):
        if len(sentence) <= limit:
            yield sentence
            continue
        for word in _cut_after(sentence, _SPACE):
            for start in range(0, len(word), limit):
                yield word[start : start + limit]


def split_text(text: str, limit: int) -> list[str]:
    """Text in pieces of at most `limit` characters, cut at sentence ends when possible."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    chunks: list[str] = []
    current = ""
    for segment in _segments(text, limit):
        if len(current) + len(segment) > limit and current.strip():
            chunks.append(current.strip())
            current = ""
        current += segment
    if current.strip():
        chunks.append(current.strip())
    return chunks


def clip(text: str) -> tuple[str, bool]:
    """Text cut at the note limit (a note's worth is kept; a 50 MB message must not become
    thousands of notes), and whether it was cut. NUL characters, which exports carry now
    and then and which no note may hold, are dropped (not the message with them)."""
    text = text.replace("\x00", "")
    if len(text) <= MAX_CONTENT_CHARS:
        return text, False
    return text[:MAX_CONTENT_CHARS], True


def part_source(source: str, index: int) -> str:
    """The source of the index-th piece (0-based) of a split note: 'x', 'x~2', 'x~3', ..."""
    return source if index == 0 else f"{source}~{index + 1}"


_PART = re.compile(r"~\d+$")


def message_of(source: str) -> str:
    """The message a chat note's source names (its last part, without a piece's '~n')."""
    return _PART.sub("", source.rsplit("/", 1)[-1])


# -- chats -------------------------------------------------------------------------------

_UNSAFE_ID = re.compile(r"[/#\s]+")


def safe_id(value: object) -> str:
    """A message id that cannot move the thread boundary of a source ('/' and '#')."""
    return _UNSAFE_ID.sub("_", str(value).strip()) or "_"


def check_granularity(granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise InvalidInput(
            f"unknown granularity {granularity!r}; use one of: {', '.join(GRANULARITIES)}"
        )


Line = tuple[str, str | None]  # (text, event_at)


def _lines(message: Message, limit: int) -> list[Line]:
    speaker = message.speaker[:100]
    budget = limit - len(speaker) - 2
    return [(f"{speaker}: {p}", message.event_at) for p in split_text(message.text, budget)]


def _pack(lines: Iterable[Line], limit: int) -> list[Line]:
    """Consecutive lines joined by newlines into chunks of at most `limit` characters."""
    chunks: list[Line] = []
    text, moment = "", None
    for line, at in lines:
        if text and len(text) + 1 + len(line) > limit:
            chunks.append((text, moment))
            text = ""
        text, moment = (f"{text}\n{line}", moment) if text else (line, at)
    if text:
        chunks.append((text, moment))
    return chunks


def _exchanges(messages: list[Message]) -> list[list[Message]]:
    opens = [m.from_user is True for m in messages]
    if not any(opens):  # named speakers: whoever speaks first opens each exchange
        opens = [m.speaker == messages[0].speaker for m in messages]
    out: list[list[Message]] = []
    for message, opening in zip(messages, opens):
        if opening or not out:
            out.append([])
        out[-1].append(message)
    return out


def digest(text: str) -> str:
    """A short fingerprint of a text, for dedupe keys that do not depend on a file's name."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _chat_notes(
    prefix: str,
    messages: list[Message],
    scope: str,
    granularity: str,
    key_prefix: str | None = None,
    holders: dict[str, str] | None = None,
) -> list[NewNote]:
    """Notes of a conversation; each note's source starts with ``prefix`` (the file, the
    conversation), its dedupe key with ``key_prefix`` (the conversation only, so that a
    copy of the export under another name, or piped in, adds nothing; None: the source).
    ``holders`` is filled with the source of the note holding each message (not in
    ``session`` notes, which hold parts of the text)."""
    pieces: list[tuple[str, str, str, str | None]] = []  # (source, key, content, event_at)
    holders = {} if holders is None else holders
    if granularity == "session":
        lines = [line for m in messages for line in _lines(m, SESSION_LIMIT)]
        for n, (text, at) in enumerate(_pack(lines, SESSION_LIMIT), 1):
            source = f"{prefix}/part-{n}"
            key = source if key_prefix is None else f"{key_prefix}/{digest(text)}"
            pieces.append((source, key, text, at))
    else:
        groups = _exchanges(messages) if granularity == "exchange" else [[m] for m in messages]
        for group in groups:
            lines = [line for m in group for line in _lines(m, MESSAGE_LIMIT)]
            base = f"{prefix}/{safe_id(group[0].id)}"
            holders.update((m.id, base) for m in group)
            base_key = None if key_prefix is None else (
                f"{key_prefix}/{safe_id(group[0].key or group[0].id)}")  # fmt: skip
            for i, (text, at) in enumerate(_pack(lines, MESSAGE_LIMIT)):
                source = part_source(base, i)
                key = source if base_key is None else part_source(base_key, i)
                pieces.append((source, key, text, at))
    return [
        NewNote(content=text, scope=scope, source=source, event_at=at, dedupe_key=key)
        for source, key, text, at in pieces
    ]


def chat_group(
    ref: str,
    title: str,
    prefix: str,
    messages: Iterable[Message],
    scope: str,
    granularity: str,
    redact_secrets: bool,
    key_prefix: str | None = None,
    off_branch: dict[str, str] | None = None,
    updated: str | None = None,
) -> Group:
    """A conversation's messages as notes; `prefix` is the source up to the message id,
    `key_prefix` the dedupe key's (see _chat_notes). ``off_branch``: the messages of the
    export that are not on the branch shown, each with the message now at its place; the
    Group then replaces the conversation's stored notes of those (see Group), unless the
    store took the conversation from an export changed later than ``updated``."""
    kept: list[Message] = []
    redacted = truncated = 0
    for message in messages:
        text, cut = clip(message.text.strip())
        truncated += cut
        if redact_secrets:
            text, count = redact(text)
            redacted += count
        if text:
            kept.append(
                Message(
                    message.id,
                    message.speaker,
                    text,
                    message.event_at,
                    message.from_user,
                    message.key,
                )
            )
    if redact_secrets:
        title = redact(title)[0]
    holders: dict[str, str] = {}
    notes = _chat_notes(prefix, kept, scope, granularity, key_prefix, holders) if kept else []
    group = Group(ref=ref, title=title, notes=notes, redacted=redacted, truncated=truncated)
    if off_branch is None or not notes:
        return group
    in_place = {safe_id(old): holders.get(new, "") for old, new in off_branch.items()}
    return replace(group, replaces=thread_of(notes[0].source), in_place_of=in_place,
                   updated=updated)  # fmt: skip


# -- files -------------------------------------------------------------------------------


_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip


def read_head(path: Path) -> str:
    """The first ~64 KiB of a file as text (without a BOM); InvalidInput if empty or not UTF-8."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(HEAD_BYTES)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if not raw.strip():
        raise InvalidInput(f"{path} is empty; pass a file with something to import")
    if raw.startswith(_ZIP):
        # An export as it is downloaded; its conversations.json is the file to import.
        raise InvalidInput(f"{path} is a zip archive; unzip it and import the "
                           "conversations.json inside (or the folder of .md notes)")  # fmt: skip
    try:
        # Not final: the cut may fall inside a multi-byte character.
        text = codecs.getincrementaldecoder("utf-8")().decode(raw.removeprefix(_BOM), final=False)
    except UnicodeDecodeError as exc:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # a UTF-16 byte order mark
            raise InvalidInput(
                f"{path} is UTF-16 text; convert it to UTF-8 first, e.g. iconv -f utf-16 -t utf-8"
            ) from None
        raise InvalidInput(
            f"{path} is not UTF-8 text (bad byte at {exc.start}); convert it first, "
            "e.g. iconv -f latin1 -t utf-8"
        ) from None
    return text


def require_list(
    path: Path, head: str, looks_like: Callable[[str], bool], what: str, hint: str
) -> None:
    """InvalidInput unless the file is a JSON list (empty, or whose head looks like `what`)."""
    body = head.lstrip()
    if not body.startswith("["):
        kind = "a JSON object" if body.startswith("{") else "not a JSON list"
        raise InvalidInput(f"{path} is {kind}, not {what}; {hint}")
    if not body[1:].lstrip().startswith("]") and not looks_like(head):
        raise InvalidInput(f"{path} does not look like {what}; {hint}")


# Bytes of each input file read so far (by path), for an import's progress and ETA.
_READ: dict[str, int] = {}


def bytes_read(path: Path) -> int:
    """How far the parsers have read into PATH (0 when unknown)."""
    return _READ.get(str(path), 0)


def note_position(path: Path, offset: int) -> None:
    _READ[str(path)] = offset


# Deeper records are rejected: ijson's prefixed events cost O(depth) each (a record
# 100k levels deep never finishes), and Python code walking one would hit RecursionError.
# Real exports nest about a dozen levels.
MAX_JSON_DEPTH = 256


class _TooDeep(Exception):
    pass


def _list_items(events: Iterator[tuple[str, Any]]) -> Iterator[Any]:
    """The items of a top-level JSON list from unprefixed parser events; an item nested
    deeper than MAX_JSON_DEPTH comes out as _TooDeep (and the rest is still read)."""
    if next(events, (None, None))[0] != "start_array":
        return
    depth, builder, deep = 0, ijson.common.ObjectBuilder(), False
    for event, value in events:
        if depth == 0 and event == "end_array":
            return
        if event in ("start_map", "start_array"):
            depth += 1
            deep = deep or depth > MAX_JSON_DEPTH
        elif event in ("end_map", "end_array"):
            depth -= 1
        if not deep:
            builder.event(event, value)
        if depth == 0:
            yield _TooDeep() if deep else builder.value
            builder, deep = ijson.common.ObjectBuilder(), False


def stream_list(path: Path) -> Iterator[tuple[int, Any] | Rejected]:
    """(1-based index, item) of a JSON list, read piece by piece; a bad tail ends in a Rejected,
    and so does a record nested deeper than MAX_JSON_DEPTH."""
    with path.open("rb") as handle:
        if handle.read(len(_BOM)) != _BOM:
            handle.seek(0)
        count = 0
        try:
            events = ijson.basic_parse(handle, use_float=True)
            for count, item in enumerate(_list_items(events), 1):
                note_position(path, handle.tell())
                if isinstance(item, _TooDeep):
                    yield Rejected(f"{path.name}#{count}", f"record {count} is nested more "
                                   f"than {MAX_JSON_DEPTH} levels deep")  # fmt: skip
                else:
                    yield count, item
        except (ijson.JSONError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            yield Rejected(ref=path.name, reason=_broken_json(exc, handle.tell(), count))


def _broken_json(exc: Exception, offset: int, count: int) -> str:
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    after = f"after {count} complete record{'' if count == 1 else 's'}"
    if "premature EOF" in detail or "Incomplete" in detail:
        return f"the file is truncated at byte {offset} ({after}); export it again"
    # The parser reads 64 KiB at a time, so the offset is where reading stopped.
    return f"the file is malformed JSON near byte {offset} ({detail}; {after}); fix or re-export it"


def stream_records(path: Path, convert: Callable[[str, int, object], Unit]) -> Iterator[Unit]:
    """Each record of a JSON list export turned into a unit by ``convert(file name, index,
    record)``; a damaged tail ends in a Rejected."""
    for entry in stream_list(path):
        if isinstance(entry, Rejected):
            yield entry
            continue
        index, record = entry
        yield convert(path.name, index, record)


def read_export(
    path: Path,
    granularity: str,
    looks_like: Callable[[str], bool],
    what: str,
    hint: str,
    id_keys: tuple[str, ...],
    convert: Callable[[str, dict[str, Any], str], Unit],
) -> Iterator[Unit]:
    """A JSON list export of conversations, checked up front (InvalidInput), then streamed:
    each record with an id (the first of ``id_keys`` it has) becomes ``convert(ref, record,
    id)`` with ref ``<file>#<id>``; a record that is not an object or has no id is Rejected."""
    check_granularity(granularity)
    require_list(path, read_head(path), looks_like, what, hint)

    def one(name: str, index: int, record: object) -> Unit:
        if not isinstance(record, dict):
            return Rejected(f"{name}#{index}", "the record is not a JSON object")
        found = next((record[k] for k in id_keys if record.get(k)), None)
        if not isinstance(found, str) or not found.strip():
            return Rejected(f"{name}#{index}", f"the conversation has no {' or '.join(id_keys)}")
        return convert(f"{name}#{found}", record, found)

    return stream_records(path, one)
