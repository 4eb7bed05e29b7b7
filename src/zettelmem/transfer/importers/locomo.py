"""LoCoMo conversations (``locomo10.json`` format): one note per dialog turn."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from zettelmem.errors import InvalidInput
from zettelmem.models import NewNote
from zettelmem.timeutil import stored
from zettelmem.transfer.importers.units import when

_SESSION = re.compile(r"^session_(\d+)$")


@dataclass(frozen=True)
class Turn:
    """One dialog turn, ready to become a note."""

    sample_id: str
    dia_id: str
    content: str
    event_at: str | None
    session: int


def parse_locomo_date(text: str) -> str | None:
    """'1:56 pm on 8 May, 2023' -> '2023-05-08T13:56:00' (None when unparseable)."""
    cleaned = re.sub(r"\s+", " ", text.strip())
    for fmt in ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y", "%d %B, %Y", "%d %B %Y"):
        try:
            return stored(datetime.strptime(cleaned, fmt))
        except ValueError:
            continue
    # Any other form an import reads ("2024-05-01 10:00", "May 1, 2024"); one it cannot
    # read is counted for the import's report.
    return when(cleaned) if cleaned else None


def turn_text(turn: dict[str, Any]) -> str:
    """'<speaker>: <text>' plus the shared photo's caption, as the protocol says."""
    text = f"{turn.get('speaker', '?')}: {turn.get('text', '')}".strip()
    caption = turn.get("blip_caption")
    if caption:
        text += f" [shares a photo: {caption}]"
    return text


def load(path: Path) -> list[dict[str, Any]]:
    """Read and shape-check a LoCoMo file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text; pass a LoCoMo JSON file") from None
    except RecursionError:
        raise InvalidInput(
            f"{path} is nested too deeply to read; pass a LoCoMo JSON file"
        ) from None
    except ValueError as exc:
        raise InvalidInput(f"{path} is not valid JSON ({exc}); pass a LoCoMo JSON file") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(
        isinstance(s, dict) and "sample_id" in s and isinstance(s.get("conversation"), dict)
        for s in data
    ):
        raise InvalidInput(
            f"{path} is not in LoCoMo format (a list of records with sample_id and conversation)"
        )
    return data


def turns(sample: dict[str, Any]) -> Iterator[Turn]:
    """Every turn of one conversation, session by session, in order."""
    conv = sample["conversation"]
    for number, key in _sessions(conv):
        when = parse_locomo_date(str(conv.get(f"{key}_date_time", "")))
        for turn in conv[key] or []:
            if not isinstance(turn, dict) or not turn.get("dia_id"):
                continue
            yield Turn(str(sample["sample_id"]), str(turn["dia_id"]), turn_text(turn), when, number)


def _sessions(conv: dict[str, Any]) -> list[tuple[int, str]]:
    """(number, key) of a conversation's sessions, in their order."""
    return sorted((int(m.group(1)), key) for key in conv if (m := _SESSION.match(key)))


def unnamed_turns(sample: dict[str, Any]) -> list[str]:
    """Where the sample's turns without a dia_id are ('session_2 turn 3'): `turns` skips
    them, since a turn's dia_id is its identity (its source and dedupe key)."""
    conv = sample["conversation"]
    out = []
    for _, key in _sessions(conv):
        for index, turn in enumerate(conv[key] or [], 1):
            if isinstance(turn, dict) and not turn.get("dia_id"):
                out.append(f"{key} turn {index}")
    return out


def notes(samples: list[dict[str, Any]], scope: str | None = None) -> list[NewNote]:
    """The protocol's memories: one per turn, scoped by conversation, dated by session."""
    out = []
    for sample in samples:
        for turn in turns(sample):
            source = f"locomo:{turn.sample_id}/{turn.dia_id}"
            out.append(
                NewNote(
                    content=turn.content,
                    scope=scope or turn.sample_id,
                    source=source,
                    event_at=turn.event_at,
                    dedupe_key=source,
                )
            )
    return out


# How far into a file the sniffer reads for the first record's keys: a LoCoMo sample
# puts its question list (a few hundred KB) before its conversation.
SNIFF_BYTES = 8 * 1024 * 1024


def looks_like(path: Path) -> bool:
    """Content sniffing: a JSON list whose first record, or one record alone, has a
    conversation and a sample_id or a qa list, whatever order the keys come in
    (streamed, at most SNIFF_BYTES)."""
    import ijson  # type: ignore[import-untyped]

    keys: set[str] = set()
    depth = 0
    record = 2  # the depth of a record's keys: 2 in a list, 1 for a record alone
    try:
        with path.open("rb") as handle:
            for event, value in ijson.basic_parse(handle):
                if depth == 0:
                    if event == "start_map":
                        record = 1
                    elif event != "start_array":
                        return False  # neither a list of records nor a record
                if event in ("start_map", "start_array"):
                    depth += 1
                elif event in ("end_map", "end_array"):
                    depth -= 1
                    if depth < record:
                        break  # the (first) record ended, or the list was empty
                elif event == "map_key" and depth == record:
                    keys.add(value)
                    if "conversation" in keys and keys & {"sample_id", "qa"}:
                        return True
                if handle.tell() > SNIFF_BYTES:
                    break
    except (OSError, ijson.JSONError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return False
