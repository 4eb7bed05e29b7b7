"""Every regex that sees user text, and every signal, importer and parser, runs in time
linear in its input: 64 KiB of adversarial text must not hold the interpreter for
seconds (a server answers nobody while a regex runs).

Checked by a ratio, never an absolute time: the same input at 1/8 of the size
must take at least a third of the time (linear: 1/8, quadratic: 1/64), with a
floor so that microsecond timings do not make noise look like growth.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import zettelmem
from zettelmem.guard import contradiction, learned, signals
from zettelmem.redaction import redact
from zettelmem.text import named_words, speaker_of, strip_speaker
from zettelmem.transfer import importers
from zettelmem.transfer.importers import jsonl, markdown
from zettelmem.transfer.importers.units import split_text, when
from zettelmem.zettel import construct

BIG = 64 * 1024
SMALL = BIG // 8
MAX_RATIO = 32.0  # linear ~8, quadratic ~64
FLOOR_S = 0.005  # timings below this are noise (a loaded machine jitters this much)

# Units repeated to length: runs of one class, separators, and half-finished shapes of
# every pattern family we have (emails, URLs, keys, speakers, front matter, dates).
UNITS = [
    "b", "a@", "a.", "1.", " ", "-", "\n", "a-", "x:", "[[", "ab1", "#a", "{", '"a":', "sk-",
    "password=", "http://", "eyJ", "aa ", "when asked ", "curl -", "1 ", "a\n\n", "Ab: ",
    "ignore ", "if the user says ", "send ", "0", "1x1", "a,", "---\n", "# ", "*", "_",
    "\\", "'", "a'b ", "..", "a.b@", "www.", "xn--", "<|", "Bearer ", "token:", "ghp_",
    "ignora todas ", "忽略之前", "助手", "é ",
]  # fmt: skip


def _texts(size: int) -> Iterator[tuple[str, str]]:
    for unit in UNITS:
        yield unit, (unit * (size // len(unit) + 1))[:size]
        yield unit + "!", (unit * (size // len(unit) + 1))[: size - 1] + "!"


def _timed(fn: Callable[[str], object], text: str) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
        if best > 0.5:  # no need to repeat what is slow for sure
            break
    return best


def _ratio(fn: Callable[[str], object]) -> tuple[float, str]:
    """The worst growth from 8 KiB to 64 KiB over the adversarial texts. A growth over the
    limit is measured again (up to three times, keeping the lowest): a loaded machine
    can stall one timing, but not a quadratic scan three times over."""
    worst, worst_unit = 0.0, ""
    small = dict(_texts(SMALL))
    for unit, text in _texts(BIG):
        ratio = float("inf")
        for _ in range(3):
            fast = _timed(fn, small[unit])
            if fast > 1.0:  # already seconds at 8 KiB: quadratic for sure
                return float("inf"), unit
            ratio = min(ratio, _timed(fn, text) / max(fast, FLOOR_S))
            if ratio < MAX_RATIO:
                break
        if ratio > worst:
            worst, worst_unit = ratio, unit
    return worst, worst_unit


def _patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    for info in pkgutil.walk_packages(zettelmem.__path__, "zettelmem."):
        if ".bench" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            found = [value] if isinstance(value, re.Pattern) else []
            if isinstance(value, (tuple, list)):
                for item in value:
                    parts = item if isinstance(item, tuple) else (item,)
                    found += [p for p in parts if isinstance(p, re.Pattern)]
            for i, pattern in enumerate(found):
                if isinstance(pattern.pattern, str):
                    yield f"{info.name}.{name}[{i}]", pattern


PATTERNS = dict(_patterns())


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_pattern_scans_in_linear_time(name: str) -> None:
    pattern = PATTERNS[name]
    ratio, unit = _ratio(lambda s: sum(1 for _ in pattern.finditer(s)))
    assert ratio < MAX_RATIO, f"{name} grows {ratio:.0f}x for 8x input ({unit!r} repeated)"


def _file_reader(fmt: str, suffix: str) -> Callable[[str], object]:
    def run(text: str) -> object:
        path = Path(_TMP[0]) / f"adversarial{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            _, units = importers.units(path, fmt)
            return list(units)
        except zettelmem.errors.MemError:
            return None

    return run


_TMP: list[str] = []

FUNCTIONS: dict[str, Callable[[str], object]] = {
    "guard signals": lambda s: signals._rule_signals.__wrapped__(s),  # type: ignore[attr-defined]
    "guard learned reading": learned.score,
    "guard codeword": signals._codeword_signal,
    "contradiction": lambda s: contradiction.contradiction(s, s[::-1]),
    "redact": redact,
    "split_text": lambda s: split_text(s, 2000),
    "when": when,
    "speaker": lambda s: (speaker_of(s), strip_speaker(s), named_words(s)),
    "keywords": lambda s: construct.keywords(s, lambda w: 1.0),
    "context line": lambda s: construct.context_line(s, None),
    "jsonl looks_like": jsonl.looks_like,
    "markdown parts": lambda s: (markdown.front_matter(s), markdown.wikilinks(s),
                                 markdown.sections(s, "t"), markdown.tags_of({}, s)),
    "text import": _file_reader("text", ".txt"),
    "markdown import": _file_reader("markdown", ".md"),
    "jsonl import": _file_reader("jsonl", ".jsonl"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_signal_importer_and_parser_runs_in_linear_time(name: str, tmp_path: Path) -> None:
    _TMP[:] = [str(tmp_path)]
    ratio, unit = _ratio(FUNCTIONS[name])
    assert ratio < MAX_RATIO, f"{name} grows {ratio:.0f}x for 8x input ({unit!r} repeated)"
