"""Text rules, one home each: stop words, who speaks a turn, update cues, query words.

Every module that reads note or query text for these takes them from here, so two
copies can never drift apart.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path


def unix_newlines(text: str) -> str:
    """CRLF and a lone CR (Windows, classic Mac) as LF: a note's text has one line ending,
    the one every file `mem export` writes reads back with."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# Function words and question words: "what", "did", "when" match almost every note.
STOPWORDS = frozenset(
    (Path(__file__).parent / "data" / "stopwords.txt").read_text(encoding="utf-8").split()
)

# A dialog turn starts with its speaker: "Caroline: I went ...". Bounded, so linear.
SPEAKER = re.compile(r"^([A-Z][\w.'’ -]{0,40}?):\s")

# Words that mark a statement as an update of an earlier one ("I now use Zed").
UPDATE_CUE = re.compile(
    r"\b(now|no longer|any ?more|moved|switched|changed|instead|actually|correction|"
    r"updated?|these days|from now on)\b",
    re.IGNORECASE,
)

# A query word as the BM25 index sees it (tantivy's simple tokenizer splits on \W).
QUERY_WORD = re.compile(r"\w+", re.UNICODE)

# A word of a name: letters, with one inner apostrophe ("O'Neil", "Melanie's").
NAME_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def speaker_of(text: str) -> str | None:
    """The speaker a turn names at its start ('Caroline: ...'), or None."""
    match = SPEAKER.match(text)
    return match.group(1).strip() if match else None


def strip_speaker(text: str) -> str:
    """The text without a leading 'Name: ' (a dialog turn's speaker)."""
    return SPEAKER.sub("", text, count=1)


@functools.lru_cache(maxsize=4096)
def named_words(text: str) -> frozenset[str]:
    """The text's words, lower-cased, possessives folded ("Melanie's" -> "melanie").
    Kept per text: recall asks it of each candidate's speaker, and speakers repeat."""
    return frozenset(re.sub(r"['’]s$", "", w.lower()) for w in NAME_WORD.findall(text))


# A lesson quotes the note it was learned from: "(seen: '<quote>')" (quotes use ’ inside).
LESSON_QUOTE = re.compile(r"\(seen: '[^']{0,400}'\)")


def lesson_quote(quote: str) -> str:
    """The part of a lesson's text that quotes the held note."""
    return f"(seen: '{quote}')"


def without_lesson_quote(text: str) -> str:
    """A lesson's text with its quote of the held note left out (held notes stay home)."""
    return LESSON_QUOTE.sub("(seen: a held note, kept in its home)", text)
