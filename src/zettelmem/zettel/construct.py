"""Zettelkasten construction without an LLM: keywords, tags, context, links and evolution.

Pure functions over data the core hands in (texts, vectors, neighbours); the
core does the I/O. With an LLM configured, `zettel_llm` replaces the
keywords, tags and context built here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from zettelmem.models import Change, Link, Neighbour
from zettelmem.text import NAME_WORD, STOPWORDS, UPDATE_CUE, speaker_of, strip_speaker
from zettelmem.timeutil import human_date

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+")

# Topic tags a note can get offline: each is described in words and matched
# against the note's own vector.
TOPICS: dict[str, str] = {
    "family": "family, parents, children, kids, siblings, relatives, grandparents",
    "work": "job, career, work, office, colleagues, boss, business, projects",
    "health": "health, illness, doctor, hospital, injury, therapy, mental health",
    "fitness": "exercise, running, gym, training, yoga, workout, marathon",
    "travel": "travel, trip, vacation, flight, abroad, visiting another country",
    "food": "food, cooking, recipe, restaurant, meal, baking, dinner",
    "music": "music, songs, concert, guitar, piano, band, singing",
    "art": "art, painting, drawing, pottery, sculpture, crafts, creativity",
    "photography": "photography, camera, photos, pictures",
    "sports": "sports, football, basketball, tennis, match, team, competition",
    "pets": "pets, dog, cat, puppy, animals",
    "education": "school, study, university, class, course, learning, exam",
    "money": "money, finance, budget, savings, salary, shopping, buying",
    "relationships": "friends, friendship, dating, partner, marriage, love",
    "home": "house, apartment, moving home, garden, furniture, rent",
    "technology": "technology, computer, software, phone, code, app, internet",
    "events": "party, wedding, birthday, celebration, festival, ceremony",
    "feelings": "feelings, emotions, happy, sad, stressed, anxious, proud, grateful",
    "nature": "nature, hiking, camping, outdoors, beach, mountains, forest",
    "community": "community, volunteering, activism, support group, charity, advocacy",
    "reading": "books, reading, novels, writing, poetry, stories",
    "goals": "plans, goals, dreams, ambitions, future, hopes",
    "identity": "identity, gender, transgender, lgbtq, coming out, self-acceptance",
    "games": "video games, board games, playing, gaming",
}
TOPIC_MIN_COS = 0.30  # MiniLM cosine above which a topic counts
MAX_TAGS = 6
LINK_MIN_COS = 0.45  # own-vector cosine a `related` neighbour needs
MAX_LINKS = 4
EVOLVE_MIN_COS = 0.55  # a neighbour this close may take the new note's topic tags
MAX_EVOLVED = 3
# Words that make a statement about its writer (or, in a `Name:` turn, its speaker).
FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'd", "i'll", "me", "my", "mine", "myself"})


@dataclass(frozen=True)
class Derived:
    keywords: tuple[str, ...]
    tags: tuple[str, ...]
    context: str


def words(text: str) -> list[str]:
    return [w.lower().strip("'’-") for w in _TOKEN.findall(text)]


def keywords(
    text: str, idf: Callable[[str], float] | None = None, limit: int = 6
) -> tuple[str, ...]:
    """Key phrases: runs of up to three content words, scored by rarity, diversified."""
    body = strip_speaker(text)
    weight = idf or (lambda _w: 1.0)
    phrases: Counter[str] = Counter()
    for run in _content_runs(body):
        for size in (1, 2, 3):
            for start in range(0, len(run) - size + 1):
                phrases[" ".join(run[start : start + size])] += 1

    def score(phrase: str) -> float:
        parts = phrase.split()
        rarity = sum(weight(w) for w in parts) / len(parts)
        return rarity * (1 + 0.25 * (len(parts) - 1)) * (1 + 0.2 * (phrases[phrase] - 1))

    scored = sorted(phrases, key=lambda p: (-score(p), p))
    chosen: list[str] = []
    covered: set[str] = set()
    for phrase in scored:
        parts = set(phrase.split())
        if parts <= covered:
            continue  # diversity: nothing new in it
        chosen.append(phrase)
        covered |= parts
        if len(chosen) >= limit:
            break
    return tuple(chosen)


_BREAK = re.compile(r"[.!?,;:()\[\]\"“”…—–]+")


def _content_runs(text: str) -> list[list[str]]:
    """Runs of content words, broken at stop words and punctuation."""
    runs: list[list[str]] = [[]]
    for piece in _BREAK.split(text):
        runs.append([])
        runs.extend(_runs_in(piece))
    return [run for run in runs if run]


def _runs_in(text: str) -> list[list[str]]:
    runs: list[list[str]] = [[]]
    for token in words(text):
        if token in STOPWORDS or len(token) < 3 or token.isdigit():
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(token)
    return [run for run in runs if run]


def context_line(text: str, event_at: str | None) -> str:
    """Who and when in one line: 'Caroline, 8 May 2023'. What a note is about is its own
    text, which the index holds already; its key phrases repeated here only re-weighted a
    few of its words, by a choice that hung on what the store held when it was written."""
    who = speaker_of(text)
    when = " ".join(human_date(event_at).split()[:3]) if event_at else None
    return ", ".join(part for part in (who, when) if part)


def topic_tags(vector: np.ndarray, topic_vectors: dict[str, np.ndarray]) -> list[str]:
    """Up to two topics whose description is close to the note."""
    sims = sorted(((float(vector @ v), t) for t, v in topic_vectors.items()), reverse=True)
    return [topic for cos, topic in sims[:2] if cos >= TOPIC_MIN_COS]


def neighbour_tags(neighbours: Sequence[Neighbour]) -> list[str]:
    """Tags that close neighbours agree on (votes weighted by similarity). Only neighbours
    as close as evolution asks vote: notes that merely share a name (every note about one
    person) would else pass a tag from one to the next."""
    votes: dict[str, float] = {}
    for n in neighbours:
        if n.cos < EVOLVE_MIN_COS:
            continue
        for tag in dict.fromkeys(t.lower() for t in n.tags):  # a store written before
            votes[tag] = votes.get(tag, 0.0) + n.cos
    return [tag for tag, vote in sorted(votes.items(), key=lambda kv: -kv[1]) if vote >= 1.0]


def derive(
    text: str,
    event_at: str | None,
    given_tags: Sequence[str],
    vector: np.ndarray,
    topic_vectors: dict[str, np.ndarray],
    neighbours: Sequence[Neighbour],
    idf: Callable[[str], float] | None = None,
) -> Derived:
    kws = keywords(text, idf)
    tags = list(dict.fromkeys([*given_tags, *topic_tags(vector, topic_vectors),
                               *neighbour_tags(neighbours)]))  # fmt: skip
    return Derived(kws, tuple(tags[: max(MAX_TAGS, len(given_tags))]), context_line(text, event_at))


def plan_links(note_id: str, neighbours: Sequence[Neighbour]) -> list[Link]:
    """Two-way `related` links to the closest neighbours, weighted by similarity."""
    out: list[Link] = []
    for n in sorted(neighbours, key=lambda n: -n.cos)[:MAX_LINKS]:
        if n.cos < LINK_MIN_COS or n.id == note_id:
            continue
        weight = round(float(n.cos), 4)
        out.append(Link(note_id, n.id, "related", weight))
        out.append(Link(n.id, note_id, "related", weight))
    return out


def plan_evolution(
    note_id: str, new_tags: Sequence[str], neighbours: Sequence[Neighbour], topics: Sequence[str]
) -> list[Change]:
    """Close neighbours take the new note's topic tags they lack (never their content)."""
    out: list[Change] = []
    offered = [t for t in new_tags if t in topics]
    for n in sorted(neighbours, key=lambda n: -n.cos)[:MAX_EVOLVED]:
        if n.cos < EVOLVE_MIN_COS or n.id == note_id:
            continue
        has = {t.lower() for t in n.tags}  # "Travel" in a store written before is "travel"
        added = [t for t in offered if t not in has][: max(0, MAX_TAGS - len(n.tags))]
        if added:
            reason = f"evolved by {note_id}: shares its topics"
            after = _tags_json([*n.tags, *added])
            out.append(Change(n.id, "tags", _tags_json(n.tags), after, reason, cause=note_id))
    return out


def _tags_json(tags: Sequence[str]) -> str:
    import json

    return json.dumps(list(tags))


def plan_supersede(
    note_id: str, text: str, standalone: bool, neighbours: Sequence[Neighbour]
) -> tuple[list[Link], list[Change]]:
    """A standalone note that updates a related standalone fact replaces it (see
    `same_fact_update`). Conversation turns are records of what was said and never
    supersede each other."""
    if not standalone or not UPDATE_CUE.search(text):
        return [], []
    for n in sorted(neighbours, key=lambda n: -n.cos):
        if not n.standalone or n.id == note_id:
            continue
        if same_fact_update(text, n.content):
            return supersede(note_id, n.id, "an update of the same fact")
    return [], []


def same_fact_update(new: str, old: str) -> bool:
    """Does NEW update the fact OLD states? Both are one statement (a sentence), and three
    parts are needed: an update cue in NEW ("now", "no longer", "instead", ...), the same
    subject (the writer when both speak in the first person, a turn's speaker being its
    writer; else the name a statement starts with), and the same attribute (a content
    word both share besides the subject and the cues: "editor", "coffee", "works")."""
    sentences = _sentences(new)
    if len(sentences) != 1 or len(_sentences(old)) != 1:
        return False  # a note of several statements is more than one fact: never replaced whole
    subject = _subject(old, speaker_of(old))
    sentence = sentences[0]
    cues = [m.group(0) for m in UPDATE_CUE.finditer(sentence)]
    if subject is None or not cues or _subject(sentence, speaker_of(new)) != subject:
        return False
    ignored = {subject} | {_stem(w) for cue in cues for w in words(cue)}
    return bool((_content(sentence) & _content(old)) - ignored)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.findall(strip_speaker(text)) if words(s)]


_WRITER = "\x00writer"  # the one who says "I" in a note that names no speaker
_SENTENCE = re.compile(r"[^.!?\n]+")


def _stem(word: str) -> str:
    """Plural and third-person -s folded ("drinks" -> "drink"), possessives dropped."""
    word = word.lower().removesuffix("'s").removesuffix("’s")
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def _content(text: str) -> set[str]:
    return {_stem(w) for w in words(strip_speaker(text))
            if w not in STOPWORDS and len(w) >= 3 and not w.isdigit()}  # fmt: skip


def _subject(text: str, speaker: str | None) -> str | None:
    """Who a statement is about: its writer when it speaks in the first person (a turn's
    writer is its speaker), else the name it starts with ("Maya now works ...")."""
    body = strip_speaker(text)
    if FIRST_PERSON & set(words(body)):
        return _WRITER if speaker is None else _stem(speaker.split()[0])
    first = NAME_WORD.search(body)
    if first is None or not first.group(0)[0].isupper():
        return None
    name = _stem(first.group(0))
    return None if name in STOPWORDS else name


def supersede(note_id: str, old_id: str, why: str) -> tuple[list[Link], list[Change]]:
    change = Change(old_id, "status", "active", "superseded", f"superseded by {note_id}: {why}",
                    cause=note_id)  # fmt: skip
    return [Link(note_id, old_id, "supersedes", 1.0)], [change]
