"""Whether two memories disagree, offline: the same subject with a different value.

Deliberately strict (a false alarm here flags an honest note): a polarity flip
(one text negates the other), a different count or date for the same thing, or
a different value after the same cue ("I live in X" / "I live in Y", "my
favourite X is Y" / "... is Z", "allergic to ..."). Used by the guard's
write-time consensus and read-time check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from zettelmem.text import SPEAKER, STOPWORDS

_MONTHS = {
    m: i
    for i, names in enumerate(
        ("jan january", "feb february", "mar march", "apr april", "may", "jun june",
         "jul july", "aug august", "sep sept september", "oct october", "nov november",
         "dec december"), 1)
    for m in names.split()
}  # fmt: skip
# A month's name or its abbreviation, whole: "Decision" and "Marching" are no months.
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
# Day and month within one line: "note 4" above a paragraph starting "Dec..." is no date.
_GAP = r"[^\S\n]+"
_DATE = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?{_GAP}(?:of{_GAP})?{_MONTH}(?:,?{_GAP}(\d{{4}}))?\b|"
    rf"\b{_MONTH}{_GAP}(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?{_GAP}(\d{{4}}))?",
    re.I,
)
# 'one' is left out: "one of my favourites" is no count
_NUMBER_WORDS = {"two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                 "eight": "8", "nine": "9", "ten": "10"}  # fmt: skip
# 'alpha0012' is one token (an identifier), never a word and a number
_TOKENS = re.compile(r"date\d{4,8}|[a-z][a-z0-9'-]*|\d+(?:\.\d+)?")
_CLAUSE = re.compile(
    r"[.,;:!?()\[\]\"“”…—–]+|\s-+\s|\b(?:but|though|although|however|so|because)\b", re.I
)
_CAPTION = re.compile(r"\[shares a photo:[^\]]*\]", re.I)
_ADDITIVE = re.compile(r"\b(?:also|as well|too|another|both|other)\b", re.I)
_NEGATORS = frozenset(("not", "never", "no", "nobody", "nothing", "nowhere",
                       "neither", "nor", "cannot", "without", "longer",
                       # verbs that deny what follows: "she refuses meetings on Fridays"
                       # says what "never schedule her meetings on Fridays" says
                       "refuse", "refuses", "refused", "avoid", "avoids", "avoided",
                       "stopped", "quit", "quits", "declines", "declined"))  # fmt: skip
_NEG_WINDOW = 3
# Words before a cue that make its value a past, a plan or a wish: "used to live in",
# "thinking of moving to", "might move to", "if I lived in"
_HEDGES = frozenset(("used", "thinking", "considering", "plan", "plans", "planning",
                     "want", "wants", "wanted", "hope", "hopes", "hoping", "might", "may",
                     "could", "would", "should", "if", "maybe", "perhaps", "dream",
                     "dreams", "dreaming", "wish", "wishes"))  # fmt: skip
_FILLERS = frozenset(("currently", "still", "now", "also", "really",
                      "actually", "have", "has", "had", "always", "just",
                      "already", "been", "recently", "finally", "happily",
                      "officially", "both", "all", "am", "is", "are", "was",
                      "were", "be", "got", "get", "getting", "very", "so"))  # fmt: skip
_FIRST_PERSON = frozenset(("i", "i'm", "i've", "we", "we're", "we've", "my",
                           "our", "me", "us"))  # fmt: skip
_THIRD_PERSON = frozenset(("he", "she", "they", "his", "her", "their", "he's",
                           "she's", "they're", "it", "its"))  # fmt: skip
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(p, re.I))
    for name, p in (
        ("live", r"\b(?:live|lives|living|lived|reside|resides|residing|based)\s+in\s+|"
                 r"\bmov(?:ed|ing)\s+to\s+"),
        ("origin", r"\b(?:am|is|are|'m|come|comes|came)\s+(?:originally\s+)?from\s+"),
        ("born", r"\bborn\s+(?:and\s+raised\s+)?in\s+"),
        ("employer", r"\b(?:work|works|working|worked|employed)\s+(?:at|for)\s+"),
        ("job", r"\b(?:work|works|working)\s+as\s+|\b(?:job|profession|occupation)\s+is\s+"),
        ("favorite", r"\bfavou?rite\s+(?P<key>[a-z]+(?:\s+[a-z]+)?)\s+(?:is|was|has\s+always"
                     r"\s+been|would\s+be)\s+"),
        ("allergy", r"\ballergic\s+to\s+"),
        ("spouse", r"\b(?:married|engaged)\s+to\s+"),
        ("name", r"\b(?P<key>[a-z]+)(?:'s|’s)?\s+name\s+is\s+"),
        ("name", r"\b(?P<key>dog|cat|pet|puppy|kitten|son|daughter|baby|boat|car)\s+(?:is\s+)?"
                 r"(?:called|named)\s+"),
        ("birthday", r"\bbirthday\s+is\s+(?:on\s+)?"),
    )
)  # fmt: skip
# Words one of which each cue above has in it, lowercased: a cue is looked for only in a
# text holding one of its words (a scan per cue was a third of reading a text).
_CUE_WORDS = {
    "live": ("liv", "resid", "based", "mov"), "origin": ("from",), "born": ("born",),
    "employer": ("work", "employ"), "job": ("work", "job", "profession", "occupation"),
    "favorite": ("favo",), "allergy": ("allergic",), "spouse": ("married", "engaged"),
    "name": ("name", "called"), "birthday": ("birthday",),
}  # fmt: skip
# Each date _DATE finds names a month: a text without one is not searched for dates.
_MONTH_WORDS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                "dec")  # fmt: skip


def _holds(lowered: str, words: tuple[str, ...]) -> bool:
    return any(w in lowered for w in words)


@dataclass(frozen=True)
class _Facts:
    speaker: str | None
    body: str
    content: frozenset[str]  # stemmed content words
    negated: frozenset[str]  # content words in the scope of a negation
    numbers: dict[str, frozenset[str]]  # 'n:<unit>' / 'p:<word>' -> values seen with it
    cues: tuple[tuple[str, str | None, frozenset[str]], ...]  # (cue, subject, value words)
    names: frozenset[str]  # capitalised words of the body, lowercased
    additive: bool  # "also", "too", "another": a second value, not another value


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    word = word.replace("’", "'").strip("'-")
    word = word.removesuffix("'s")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _is_content(token: str) -> bool:
    return (
        len(token) >= 3
        and token not in STOPWORDS
        and token[0].isalpha()
        and (not token.startswith("date") or not token[4:].isdigit())
    )


def _is_value(token: str) -> bool:
    return token[0].isdigit() or (token.startswith("date") and token[4:].isdigit())


def _date_token(match: re.Match[str]) -> str:
    day, month, year = match.group(1), match.group(2), match.group(3)
    if day is None:
        month, day, year = match.group(4), match.group(5), match.group(6)
    number = _MONTHS.get(month.lower().rstrip("."), _MONTHS.get(month.lower()[:3], 0))
    return f" date{number:02d}{int(day):02d}{year or ''} "


def _tokens(text: str, dates: bool = True) -> list[str]:
    if dates:
        text = _DATE.sub(_date_token, text)
    lowered = text.lower().replace("’", "'")
    return [_NUMBER_WORDS.get(t, t) for t in _TOKENS.findall(lowered)]


def _clause_facts(
    clause: str, dates: bool = True
) -> tuple[set[str], set[str], dict[str, set[str]]]:
    content: set[str] = set()
    negated: set[str] = set()
    numbers: dict[str, set[str]] = {}
    tokens = _tokens(clause, dates)
    scope = 0
    for i, token in enumerate(tokens):
        if token in _NEGATORS or token.endswith("n't"):
            scope = _NEG_WINDOW
            continue
        if _is_value(token):
            for key in _number_keys(tokens, i):
                numbers.setdefault(key, set()).add(token)
        elif _is_content(token):
            content.add(_stem(token))
            if scope:
                negated.add(_stem(token))
        scope = max(scope - 1, 0)
    return content, negated, numbers


def _number_keys(tokens: list[str], i: int) -> list[str]:
    """What a number counts or dates: '3 kids' -> n:kid, 'married on <date>' -> p:married.

    A plain number right after a word ('ticket 4411', 'ran 5 miles') is left
    out: it is as likely an identifier as a value, and two of them never clash.
    """
    token = tokens[i]
    if token.startswith("date") or re.fullmatch(r"(?:19|20)\d\d", token):
        before = [t for t in tokens[max(i - 3, 0) : i] if _is_content(t)]
        return ["p:" + _stem(before[-1])] if before else []
    if i > 0 and _is_content(tokens[i - 1]):
        return []
    after = [t for t in tokens[i + 1 : i + 3] if _is_content(t)]
    return ["n:" + _stem(after[0])] if after else []


# A capitalised word inside a sentence (not its first word): a name a pronoun may stand for
_NAMED = re.compile(r"(?<=[^\s.!?:;\n] )[A-Z][a-z]+\b")


def _cue_subject(before: str, speaker: str | None) -> str | None:
    """Whose value a cue states: 'i:<speaker>' (or 'i:self' when no speaker is known) for
    the writer, '<speaker>:<thing>' for what the writer owns ("my sister"), a lowercased
    name, 'other' for a third-person pronoun, None when it cannot be told."""
    found: list[str] = re.findall(r"[A-Za-z][A-Za-z'’]*", before)
    words = [w.replace("’", "'") for w in found[-4:]]
    while words and words[-1].lower() in _FILLERS:
        words.pop()
    if not words:
        return None
    last = words[-1]
    low = last.lower()
    me = (speaker or "self").lower()
    if low in _FIRST_PERSON:
        return f"i:{me}"
    if low in _THIRD_PERSON:  # "Met Joana, she is moving to Berlin": Joana is
        named = _NAMED.findall(before)
        return named[-1].lower() if named else "other"
    if last[0].isupper() and low not in STOPWORDS:
        return low.removesuffix("'s")
    owner = words[-2].lower() if len(words) > 1 else ""
    return f"{me}:{low}" if owner in _FIRST_PERSON else low.removesuffix("'s")


def _cue_value(after: str) -> frozenset[str]:
    head = re.split(r"[.,;:!?()\[\]\"“”\n]|\s(?:and|but|because|since|with|for)\s", after)[0]
    value: list[str] = []
    for token in _tokens(head)[:5]:
        if token in {"the", "a", "an", "my", "our", "his", "her", "their"} and not value:
            continue
        if token in STOPWORDS and value:
            break
        if _is_content(token) or _is_value(token):
            value.append(_stem(token))
        if len(value) == 3:
            break
    return frozenset(value)


def _cues(
    body: str, lowered: str, speaker: str | None
) -> tuple[tuple[str, str | None, frozenset[str]], ...]:
    found: list[tuple[str, str | None, frozenset[str]]] = []
    for name, pattern in _CUES:
        if not _holds(lowered, _CUE_WORDS[name]):
            continue
        for match in pattern.finditer(body):
            before = body[: match.start()]
            recent = _tokens(before)[-3:]
            if any(t in _NEGATORS or t in _HEDGES or t.endswith("n't") for t in recent):
                continue  # a negated, past or intended value is no assertion of one
            value = _cue_value(body[match.end() :])
            if not value:
                continue
            key = match.groupdict().get("key")
            cue = f"{name}:{_stem(key.lower())}" if key else name
            found.append((cue, _cue_subject(before, speaker), value))
    return tuple(found)


@lru_cache(maxsize=4096)
def _facts(text: str) -> _Facts:
    match = SPEAKER.match(text)
    speaker = match.group(1).strip() if match else None
    # a shared photo's caption describes a picture; it asserts nothing about the speaker
    body = _CAPTION.sub(" ", text[match.end() :] if match else text)
    content: set[str] = set()
    negated: set[str] = set()
    numbers: dict[str, set[str]] = {}
    lowered = body.lower()
    dates = _holds(lowered, _MONTH_WORDS)
    for clause in _CLAUSE.split(body):
        c, n, nums = _clause_facts(clause, dates)
        content |= c
        negated |= n
        for key, values in nums.items():
            numbers.setdefault(key, set()).update(values)
    names = frozenset(w.lower() for w in re.findall(r"\b[A-Z][a-z]+\b", body))
    return _Facts(
        speaker,
        body,
        frozenset(content),
        frozenset(negated),
        {k: frozenset(v) for k, v in numbers.items()},
        _cues(body, lowered, speaker),
        names,
        _ADDITIVE.search(body) is not None,
    )


def _same_subject(a: _Facts, b: _Facts) -> bool:
    if a.speaker and b.speaker and a.speaker.lower() != b.speaker.lower():
        return a.speaker.lower() in b.names or b.speaker.lower() in a.names
    return True


def _subjects_agree(x: str | None, y: str | None) -> bool:
    """Whether two cues' subjects may be the same person or thing."""
    if x is None or y is None or x == y:
        return True
    if "other" in (x, y):  # "they are moving to Lisbon" is not said of the writer
        return not (y if x == "other" else x).startswith("i:")
    if not (x.startswith("i:") or y.startswith("i:")):
        return False
    mine, theirs = (x, y) if x.startswith("i:") else (y, x)
    if theirs.startswith("i:"):  # two writers: the same only if one is unknown
        return "i:self" in (mine, theirs)
    if ":" in theirs:  # a note without a speaker says 'I' of its writer, not of their sister
        return False
    return mine == "i:self" or mine[2:] == theirs


def _cue_clash(a: _Facts, b: _Facts) -> bool:
    if not a.cues or not b.cues or a.additive or b.additive:
        return False  # "allergic to cats too": a second value, not another value
    for cue_a, who_a, value_a in a.cues:
        for cue_b, who_b, value_b in b.cues:
            if cue_a == cue_b and _subjects_agree(who_a, who_b) and not value_a & value_b:
                return True
    return False


@lru_cache(maxsize=32768)
def contradiction(a: str, b: str) -> float:
    """How strongly two texts about the same thing disagree (0-1, offline, conservative).

    0.8: the same cue ('lives in', 'favorite color is', 'allergic to') with a
    different value; 0.7: one negates what the other asserts; 0.6: different
    numbers or dates for the same thing. Different speakers talking about
    themselves never contradict each other.
    """
    fa, fb = _facts(a), _facts(b)
    if " ".join(fa.body.lower().split()) == " ".join(fb.body.lower().split()):
        return 0.0
    if _cue_clash(fa, fb):
        return 0.8
    if not _same_subject(fa, fb):
        return 0.0
    shared = fa.content & fb.content
    if not shared or len(shared) / max(min(len(fa.content), len(fb.content)), 1) < 0.5:
        return 0.0
    # One asserts what the other denies; when both deny something, they agree (or say
    # too much at once to call): "never schedule her meetings on Fridays" and "she refuses
    # meetings on Friday afternoons".
    flipped = [w for w in shared if (w in fa.negated) != (w in fb.negated)]
    if len(flipped) >= 2 and len(flipped) * 2 >= len(shared) and not (fa.negated and fb.negated):
        return 0.7
    for key, values in fa.numbers.items():
        other = fb.numbers.get(key)
        if other and not values & other and key[2:] in shared:
            return 0.6
    return 0.0
