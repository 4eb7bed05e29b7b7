"""Markdown notes: one file, or a folder such as an Obsidian vault, one Group per file.

Front matter gives the title, tags and date; ``#tags`` in the body add tags;
``[[wikilinks]]`` are returned by target title for the writer to resolve. A
long file becomes one note per heading section so each note stays one idea.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from zettelmem.errors import InvalidInput
from zettelmem.models import NewNote
from zettelmem.redaction import redact
from zettelmem.transfer.importers.units import (
    MESSAGE_LIMIT,
    Group,
    Rejected,
    Unit,
    check_granularity,
    digest,
    part_source,
    read_head,
    split_text,
    when,
)

log = logging.getLogger("zettelmem")

SECTION_THRESHOLD = 2000  # longer bodies are split at their # and ## headings
SUFFIXES = (".md", ".markdown")
# The store's tag rule (validation.TAG_PATTERN); a test keeps the two the same.
TAG_PATTERN = re.compile(r"^[\w][\w.:/+-]{0,63}$", re.UNICODE)

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_INLINE_TAG = re.compile(r"(?<![\w/\[(&#])#([\w][\w/-]*)")
_WIKILINK = re.compile(r"(!?)\[\[([^\[\]\n]+?)\]\]")
# Trailing '#'s are stripped in Python: `(.+?)[ \t#]*$` rescans a long run of them at
# every step (quadratic on a line of "# # # ...").
_HEADING = re.compile(r"^#{1,2}[ \t]+(.+)$")
_KEY = re.compile(r"^([A-Za-z_][\w -]*?)[ \t]*:(?:[ \t]+(.*))?$")
_ITEM = re.compile(r"^[ \t]*-[ \t]+(.*)$")
_MARKDOWN = re.compile(
    # bounded: from every '[' of a long run an unbounded class rescans the rest of the line
    r"\A---[ \t]*\n|^#{1,6}[ \t]+\S|\[\[[^\]\n]{1,200}\]\]"  # front matter, heading, wikilink
    r"|\[[^\]\n]{1,200}\]\([^)\n]{1,500}\)|^[ \t]*[-*][ \t]+\[[ xX]\]",  # link, task
    re.MULTILINE,
)


def looks_like(head: str) -> bool:
    """Front matter, an ATX heading, a wikilink, a Markdown link or a task list."""
    return bool(_MARKDOWN.search(head))


def read(path: Path, scope: str, granularity: str, redact_secrets: bool) -> Iterator[Unit]:
    """One Group per Markdown file (InvalidInput now if there is nothing to read)."""
    check_granularity(granularity)  # a document is cut by its headings, not by chat turns
    if path.is_dir():
        files = list(vault_files(path))
        if not files:
            raise no_markdown(path)
        root = path
    else:
        read_head(path)  # empty or not UTF-8: say so before anything is yielded
        files, root = [path], path.parent
    return (_document(root, file, scope, redact_secrets) for file in files)


def vault_files(root: Path) -> Iterator[Path]:
    """Markdown files under root, sorted, without dot-folders or links that leave the root."""
    top = root.resolve()
    found: list[Path] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            file = Path(folder) / name
            if name.startswith(".") or not name.lower().endswith(SUFFIXES):
                continue
            if file.is_symlink() and not file.resolve().is_relative_to(top):
                continue
            if not _regular(file):
                _skipped(file.relative_to(root).as_posix())
                continue
            found.append(file)
    yield from sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _regular(file: Path) -> bool:
    """A regular file (or a link to one), judged without opening it: a FIFO would block
    the read forever, a device never end."""
    try:
        return stat.S_ISREG(file.stat().st_mode)
    except OSError:  # a dangling link
        return False


@functools.lru_cache(maxsize=1024)  # a vault is listed more than once per import: said once
def _skipped(rel: str) -> None:
    log.warning("skipped %s: not a regular file (a pipe, a socket, a device or a dangling "
                "link); only regular files are read", rel)  # fmt: skip


def no_markdown(folder: Path) -> InvalidInput:
    """The error for a folder with no Markdown file, naming the chat export it may be."""
    export = folder / "conversations.json"
    if export.is_file():
        return InvalidInput(f"{folder} holds no Markdown (.md) files but a conversations.json "
                            f"(a ChatGPT or Claude.ai export); import that file: mem import "
                            f"'{export}'")  # fmt: skip
    return InvalidInput(f"{folder} holds no Markdown (.md) files; pass a vault or a .md file")


# -- front matter ------------------------------------------------------------------------


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return re.sub(r"[ \t]+#.*$", "", text)  # a trailing YAML comment


def _value(text: str) -> str | list[str]:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        return [_scalar(item) for item in text[1:-1].split(",") if item.strip()]
    return _scalar(text)


def front_matter(text: str) -> tuple[dict[str, str | list[str]], str]:
    """(fields, body): the simple YAML subset notes use (scalars, [a, b] and - item lists)."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            break
    else:
        return {}, text  # no closing line: a thematic break, not front matter
    fields: dict[str, str | list[str]] = {}
    key = None
    for line in lines[1:end]:
        item = _ITEM.match(line)
        if item and key is not None and isinstance(fields[key], list):
            listed = fields[key]
            assert isinstance(listed, list)
            listed.append(_scalar(item.group(1)))
            continue
        pair = _KEY.match(line)
        if pair and not line[0].isspace():
            key = pair.group(1).strip().lower()
            fields[key] = _value(pair.group(2)) if pair.group(2) else []
    return fields, "\n".join(lines[end + 1 :])


# -- tags and links ----------------------------------------------------------------------


def normalise_tag(raw: str) -> str | None:
    """An Obsidian tag in the store's form: lower case, allowed characters, at most 64."""
    tag = raw.strip().lstrip("#").lower()
    tag = re.sub(r"[^\w.:/+-]+", "-", tag)
    tag = re.sub(r"^[^\w]+", "", tag)[:64].rstrip("-/")
    return tag if TAG_PATTERN.match(tag) else None


def _prose(text: str) -> str:
    """Text without code, where a # or [[ means nothing."""
    return _INLINE_CODE.sub(" ", _FENCE.sub(" ", text))


def tags_of(fields: dict[str, str | list[str]], body: str) -> tuple[str, ...]:
    """Front matter tags (a list, or a comma or space separated string) and inline #tags."""
    raw: list[str] = []
    for key in ("tags", "tag"):
        value = fields.get(key, [])
        raw.extend(value if isinstance(value, list) else re.split(r"[,\s]+", value))
    raw.extend(t for t in _INLINE_TAG.findall(_prose(body)) if not t.replace("/", "").isdigit())
    tags = (normalise_tag(t) for t in raw if t.strip())
    return tuple(dict.fromkeys(t for t in tags if t))


def wikilinks(text: str) -> list[str]:
    """Target titles of ``[[Target]]``, ``[[Target|alias]]``, ``[[Target#Heading]]``."""
    out: list[str] = []
    for embed, inner in _WIKILINK.findall(_prose(text)):
        target = re.split(r"[|#^]", inner, maxsplit=1)[0].strip()
        suffix = Path(target).suffix.lower()
        if embed and suffix and suffix not in SUFFIXES:
            continue  # an embedded picture or PDF, not a note
        title = target.rsplit("/", 1)[-1]
        title = title[: -len(suffix)] if suffix in SUFFIXES else title
        if title and title not in out:
            out.append(title)
    return out


# -- sections ----------------------------------------------------------------------------


def sections(body: str, title: str) -> list[tuple[str, str]]:
    """(title, text) per # or ## section, with the text before the first heading first."""
    code = [(m.start(), m.end()) for m in _FENCE.finditer(body)]
    out: list[tuple[str, str]] = []
    current_title, offset = title, 0
    current: list[str] = []
    for line in body.split("\n"):
        heading = _HEADING.match(line)
        if heading and not any(a <= offset < b for a, b in code):
            out.append((current_title, "\n".join(current)))
            name = heading.group(1).rstrip(" \t#").strip()
            current_title, current = f"{title} > {name}", []
        current.append(line)
        offset += len(line) + 1
    out.append((current_title, "\n".join(current)))
    return [(t, text.strip()) for t, text in out if text.strip()]


def _document(root: Path, file: Path, scope: str, redact_secrets: bool) -> Unit:
    rel = file.relative_to(root).as_posix()
    try:
        text = file.read_text(encoding="utf-8-sig").replace("\r\n", "\n").replace("\x00", "")
    except UnicodeDecodeError as exc:
        return Rejected(rel, f"not UTF-8 text (bad byte at {exc.start}); convert it first")
    except OSError as exc:
        return Rejected(rel, f"cannot read it: {exc.strerror or exc}")
    fields, body = front_matter(text)
    named = fields.get("title")
    title = named.strip() if isinstance(named, str) and named.strip() else file.stem
    dated = next((v for k in ("date", "created") if isinstance(v := fields.get(k), str)), None)
    event_at, tags = when(dated), tags_of(fields, body)
    parts = sections(body, title) if len(body.strip()) > SECTION_THRESHOLD else [(title, body)]
    notes: list[NewNote] = []
    links: list[tuple[str, str]] = []
    titles: dict[str, str] = {}
    redacted = 0
    seen: dict[str, int] = {}
    for index, (section_title, section) in enumerate(p for p in parts if p[1].strip()):
        if redact_secrets:
            section, count = redact(section)
            redacted += count
        base = f"markdown:{rel}#{index}"
        links.extend((base, target) for target in wikilinks(section))
        for i, piece in enumerate(split_text(section, MESSAGE_LIMIT)):
            source = part_source(base, i)
            titles[source] = section_title
            # Keyed by the file and the text: an unchanged section is known wherever it
            # moved, an edited one is new (and the old text is superseded, see Group).
            key = f"markdown:#{rel}#{digest(piece)}"
            seen[key] = seen.get(key, 0) + 1
            key += f"@{seen[key]}" if seen[key] > 1 else ""
            notes.append(NewNote(piece, scope, source, event_at, tags=tags, dedupe_key=key))
    return Group(rel, title, notes, links, titles, redacted, replaces=f"markdown:{rel}")
