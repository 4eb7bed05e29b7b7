"""Secrets out of text: keys, tokens and passwords become ``[REDACTED:<kind>]``.

The one home of the rule for every door: imports and `remember` redact what
they store, `mem config set` refuses values that carry credentials, and every
error or warning text is scrubbed before it leaves the process.

Each rule matches a shape with a recognisable prefix or context (``sk-ant-``,
``AKIA``, ``Bearer``, ``password=``), never free-standing hex or words, so
ordinary prose and code that merely names a secret pass unchanged. Where a
context word is kept (``Bearer``, the key of an assignment, a URL's user and
host), only the secret itself is replaced.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

_MARK = "[REDACTED:{}]"
_EDGE = r"(?<![\w-])"  # a token starts where no word character or dash precedes it


def _mark(kind: str) -> str:
    return _MARK.format(kind)


# Whole-match rules: (kind, needles, pattern, extra check on the match or None). A rule runs
# only on text holding one of its needles: a substring test is far cheaper than a regex scan.
_TOKENS: list[tuple[str, tuple[str, ...], re.Pattern[str], Callable[[str], bool] | None]] = [
    (
        "private_key",
        ("PRIVATE KEY",),
        re.compile(
            r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----.*?(?:-----END \1-----|\Z)",
            re.DOTALL,
        ),
        None,
    ),
    ("anthropic_key", ("sk-ant-",), re.compile(_EDGE + r"sk-ant-[A-Za-z0-9_-]{20,}"), None),
    (
        "openai_key",
        ("sk-",),
        re.compile(_EDGE + r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
        lambda s: any(c.isdigit() for c in s) and any(c.isalpha() for c in s[3:]),
    ),
    (
        "stripe_key",
        ("_live_", "_test_"),
        re.compile(_EDGE + r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
        None,
    ),
    (
        "aws_access_key_id",
        ("AKIA", "ASIA"),
        re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])"),
        None,
    ),
    (
        # The 40-character secret that goes with an access key id, in text that names AWS
        # or holds such an id: mixed case and a digit, as a random base64 string has.
        "aws_secret_access_key",
        ("AKIA", "ASIA", "aws", "AWS", "Aws"),
        re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
        lambda s: (
            any(c.isdigit() for c in s)
            and any(c.isupper() for c in s)
            and any(c.islower() for c in s)
        ),
    ),
    (
        "github_token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"(?<!\w)(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})"),
        None,
    ),
    ("slack_token", ("xox",), re.compile(_EDGE + r"xox[baprs]-[A-Za-z0-9-]{10,}"), None),
    (
        "huggingface_token",
        ("hf_",),
        re.compile(r"(?<![\w-])hf_[A-Za-z0-9]{30,}(?![\w-])"),
        lambda s: any(c.isdigit() for c in s) or any(c.isupper() for c in s[3:]),
    ),
    ("google_api_key", ("AIza",), re.compile(_EDGE + r"AIza[0-9A-Za-z_-]{35}(?![\w-])"), None),
    (
        "jwt",
        ("eyJ",),
        re.compile(_EDGE + r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
        None,
    ),
]

_AUTH = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/-]{16,}=*)")
# A credential in a URL's query: ?key=..., &api_key=..., &access_token=..., &sig=...
_URL_QUERY = re.compile(
    r"(?i)([?&](?:key|api[_-]?key|apikey|access[_-]?token|token|auth|secret|password"
    r"|passwd|sig|signature|client[_-]?secret)=)([^\s&#\"'<>]{6,})"
)
# In a setting's value (a whole URL) a credential-named parameter is one at any length.
_SETTING_QUERY = re.compile(_URL_QUERY.pattern.replace("{6,}", "+"))
_USERINFO = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#\s]*@")
_KEY_VALUE = re.compile(r"^\s*sk-[A-Za-z0-9_-]{8,}")
_ENV_SECRETS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MEM_TOKEN")
# Starts only where a run of scheme characters starts, and user and password are bounded:
# otherwise a long run of letters is rescanned from each of its positions (quadratic).
_URL_PASSWORD = re.compile(
    r"(?<![a-zA-Z0-9+.-])([a-zA-Z][a-zA-Z0-9+.-]{0,31}://[^\s:/@?#]{1,256}:)([^\s@/?#]{1,256})(@)"
)
_ASSIGNMENT = re.compile(
    r"(?i)(passw(?:or)?d|pwd|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|token|credentials?|[_-]key)"  # the end of the key; the rest is found by looking back
    r"([\"']?[ \t]*(?:=(?!=)|:(?!:))[ \t]*|[ \t]+(?:is|was)[ \t]+)"  # = or : (or prose: is)
    r"(\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',;()\[\]{}<>]+(?![^\s\"',;()\[\]{}<>]))"  # the value
    r"(\(?)"  # a call: the value is code, not a secret
)
_KEY_START = re.compile(r"(?<![\w.-])[\w.-]*\Z")  # only from a run's start: linear
_ASSIGNMENT_NEEDLES = ("pass", "pwd", "secret", "key", "token", "cred")
_CODE_PREFIXES = ("$", "<", "%", "{", "os.", "process.", "env.", "self.", "config.", "settings.")
_NOT_SECRETS = {
    "none", "null", "nil", "true", "false", "undefined", "required", "optional", "string", "str",
    "bytes", "int", "redacted", "hidden", "xxx", "xxxx", "****", "...",
}  # fmt: skip

_NAMES = ("pass", "pwd", "secret", "key", "token", "cred")
_IDENTIFIER = re.compile(r"^[A-Za-z_][\w.]*$")


def _secretish(token: str) -> bool:
    """A credential-looking token: a digit, mixed case or a symbol (not a plain word)."""
    return (
        any(c.isdigit() for c in token)
        or (any(c.isupper() for c in token) and any(c.islower() for c in token))
        or any(not c.isalnum() for c in token)
    )


def _kind(key: str) -> str:
    """The kind an assignment's key names: 'DB_PASSWORD' -> password."""
    word = key.lower()
    for needle, kind in (
        ("private", "private_key"), ("secret", "secret"), ("key", "api_key"),
        ("token", "token"), ("cred", "secret"),
    ):  # fmt: skip
        if needle in word:
            return kind
    return "password"


def _assigned_secret(separator: str, value: str, call: str) -> bool:
    if call:
        return False
    quoted = value[:1] in "\"'"
    inner = value[1:-1] if quoted else value
    lowered = inner.lower()
    if not inner or inner != inner.strip() or lowered in _NOT_SECRETS:
        return False  # `"token: " + token` is code around a string, not a quoted secret
    if inner.startswith(_CODE_PREFIXES):
        return False
    if inner.startswith("[REDACTED") or set(inner) <= set("*xX.-_ "):
        return False
    if quoted:
        return True
    if len(inner) < 4 or (_IDENTIFIER.match(inner) and any(w in lowered for w in _NAMES)):
        return False  # `api_key=api_key`: a variable passed on, not its value
    if separator.strip() in ("is", "was"):
        # "the wifi password is BlueHorse77" gives one away; "the token is valid", "the
        # secret is Mom's recipe" do not: a digit, a symbol or a capital inside the word.
        return len(inner) >= 6 and (
            any(c.isdigit() for c in inner)
            or any(c.isupper() for c in inner[1:])
            or any(not c.isalnum() for c in inner.rstrip(".!?"))
        )
    # "password: what?" is prose; "password: hunter2" and "token=abc123" are not.
    return ":" not in separator or _secretish(inner) or len(inner) >= 16


def redact(text: str) -> tuple[str, int]:
    """Text with every recognised secret replaced by ``[REDACTED:<kind>]``, and how many."""
    total = 0
    for kind, needles, pattern, check in _TOKENS:
        if not any(n in text for n in needles):
            continue

        def whole(match: re.Match[str], kind: str = kind, check: object = check) -> str:
            if callable(check) and not check(match.group(0)):
                return match.group(0)
            return _mark(kind)

        text, total = _count(pattern, whole, text, total)
    lowered = text.lower()
    if "bearer" in lowered or "basic" in lowered:
        text, total = _count(_AUTH, _auth, text, total)
    if "://" in text:
        text, total = _count(_URL_PASSWORD, _url, text, total)
    if "=" in text and ("?" in text or "&" in text):
        text, total = _count(_URL_QUERY, _query, text, total)
    if any(n in lowered for n in _ASSIGNMENT_NEEDLES):
        text, total = _assignments(text, total)
    return text, total


def _assignments(text: str, total: int) -> tuple[str, int]:
    """Every assignment of a secret replaced. A match that is no secret ("secret:
    aws_secret_access_key = ...", a key's name given as the value) is passed over only up
    to its value, which may itself be the key of the next assignment."""
    out: list[str] = []
    at = done = 0
    while (match := _ASSIGNMENT.search(text, at)) is not None:
        replaced = _assignment(match)
        if replaced == match.group(0):
            at = max(match.start(3), match.start() + 1)
            continue
        out.append(text[done : match.start()])
        out.append(replaced)
        total += 1
        at = done = match.end()
    out.append(text[done:])
    return "".join(out), total


def _auth(match: re.Match[str]) -> str:
    if not _secretish(match.group(3)):
        return match.group(0)
    kind = "bearer_token" if match.group(1).lower() == "bearer" else "basic_auth"
    return match.group(1) + match.group(2) + _mark(kind)


def _url(match: re.Match[str]) -> str:
    if match.group(2).startswith("[REDACTED"):
        return match.group(0)
    return match.group(1) + _mark("password") + match.group(3)


def _query(match: re.Match[str]) -> str:
    if match.group(2).startswith("[REDACTED"):
        return match.group(0)
    return match.group(1) + _mark("url_credential")


def scrub(text: str) -> str:
    """Text fit to leave the process (a warning, an error, a log line): every secret the
    redactor knows replaced, and so is the value of any API key or token in the
    environment (a server may echo a key of any shape back)."""
    for name in _ENV_SECRETS:
        value = os.environ.get(name, "").strip()
        if len(value) >= 8 and value in text:
            text = text.replace(value, _mark(name.lower()))
    return redact(text)[0]


def carries_credentials(value: str) -> str | None:
    """What kind of credential a setting's value carries (None: none): any shape the
    redactor knows, or a URL with a user part (``https://token@host``)."""
    if _USERINFO.match(value.strip()):
        return "credentials in the URL's user part"
    if _KEY_VALUE.match(value):  # a whole value is held to a stricter rule than prose
        return "an API key (sk-...)"
    query = _SETTING_QUERY.search(value)
    if query:
        return f"a credential in the URL's query ({query.group(1)[1:-1]}=)"
    redacted, count = redact(value)
    if count:
        kinds = re.findall(r"\[REDACTED:(\w+)\]", redacted)
        return f"a secret ({', '.join(dict.fromkeys(kinds))})"
    return None


def _assignment(match: re.Match[str]) -> str:
    keyword, separator, value, call = match.groups()
    head = match.string[max(0, match.start() - 80) : match.start()]
    prefix = _KEY_START.search(head)
    key = (prefix.group(0) if prefix else "") + keyword
    if not _assigned_secret(separator, value, call):
        return match.group(0)
    quote = value[0] if value[:1] in "\"'" else ""
    return f"{keyword}{separator}{quote}{_mark(_kind(key))}{quote}{call}"


def _count(
    pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], text: str, total: int
) -> tuple[str, int]:
    changed = 0

    def counting(match: re.Match[str]) -> str:
        nonlocal changed
        out = replace(match)
        changed += out != match.group(0)
        return out

    return pattern.sub(counting, text), total + changed
