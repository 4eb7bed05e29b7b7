"""A text with its disguises taken off, for the guard to read beside the text itself.

An instruction can be written so that no word of it is a word: in mathematical bold
letters, with zero-width characters inside its words, with Cyrillic letters that look
Latin, letter by letter with spaces between, in leetspeak ("1gn0re"), or base64-encoded.
People do not write their notes that way, so undoing each disguise is safe where it is
certain: every step changes only what only a disguise produces (a word mixing scripts,
mixing letters and digits, a run of lone letters, a long base64 token that decodes to
text), and leaves every other character as it was. The guard reads both the text and
this plain reading and keeps the stronger verdict.

Every step is one pass over the text (linear time).
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

from zettelmem.guard.languages import CJK

# Cyrillic and Greek letters drawn like Latin ones (lower case; upper case is folded first)
_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ο": "o", "α": "a", "ε": "e",
    "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
})  # fmt: skip
# Small capitals ("ɪɢɴᴏʀᴇ"), which NFKC leaves as they are
_SMALL_CAPS = str.maketrans(dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnoprstuvwyz")))
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "@": "a", "$": "s", "!": "i", "|": "l"})  # fmt: skip
_WORD = re.compile(r"[^\s.,;:!?()\[\]{}\"'“”‘’«»<>/\\]{2,60}")
_LATIN = re.compile(r"[A-Za-z]")
_OTHER_SCRIPT = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0500-\u052f\u0261]")
_LEET_MARK = re.compile(r"[013457@$!|]")
_LEET_INSIDE = re.compile(r"[^\W\d_][013457@$!|]{1,8}[^\W\d_]")
# Three or more lone letters, each followed by one separator: "i g n o r e", "i.g.n.o.r.e"
_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .\-_*·]){2,60}[^\W\d_](?![^\W\d_])")
# a run of base64 letters (a longer run is read in pieces of 4,000, which decode alike)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{24,4000}={0,2}")
# Characters that draw nothing: zero-width spaces and joiners, the soft hyphen, marks that
# set the direction of text, the byte order mark
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def plain(text: str) -> str:
    """The text with its disguises undone (the text itself when it has none); the text a
    base64 token in it decodes to follows it, on lines of its own."""
    folded = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).translate(_SMALL_CAPS)
    decoded = [d for d in (_decoded(m.group(0)) for m in _BASE64.finditer(folded)) if d]
    return "\n".join(_undisguised(part) for part in (folded, *decoded))


def _undisguised(text: str) -> str:
    text = _WORD.sub(_word, text)
    return _SPACED.sub(lambda m: re.sub(r"[ .\-_*·]", "", m.group(0)), text)


def _word(match: re.Match[str]) -> str:
    word = match.group(0)
    if _LATIN.search(word) and _OTHER_SCRIPT.search(word.lower()):
        word = word.lower().translate(_LOOKALIKES)  # a word mixing scripts
    ends = word[:1] + word[-1:]
    if _LEET_INSIDE.search(word) or (
        len(_LEET_MARK.findall(ends)) == 2 and any(c.isalpha() for c in word)
    ):
        # digits standing in for letters inside a word ("1gn0re", "pr3v10us"); a number
        # before or after letters ("1st", "10am", "win64", "INC-81") is no disguise
        word = word.translate(_LEET)
    return word


def _decoded(token: str) -> str | None:
    """A base64 token's text, when it decodes to words (else None)."""
    if len(token.rstrip("=")) % 4 == 1:
        return None
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    printable = sum(c.isprintable() or c in "\n\t" for c in text)
    words = text.count(" ") >= 2 or len(CJK.findall(text)) >= 4  # CJK has no spaces
    return text if words and printable >= 0.95 * len(text) else None
