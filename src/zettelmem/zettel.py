"""Note construction: the derived fields (keywords, tags, context) built on write."""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further get got had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's i i'd
    i'll i'm i've if in into is isn't it it's its itself just let's like me more most mustn't my
    myself no nor not now of off on once only or other ought our ours ourselves out over own really
    same shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this those
    through to too under until up very was wasn't we we'd we'll we're we've were weren't what
    what's when when's where where's which while who who's whom why why's will with won't would
    wouldn't yeah yes you you'd you'll you're you've your yours yourself yourselves oh wow hey
    thanks thank great good glad sure one much many well lot lots thing things""".split()
)


def keywords(text: str, limit: int = 8) -> tuple[str, ...]:
    """The most frequent content words, in order of first appearance on ties."""
    words = [w.lower().strip("'-") for w in _WORD.findall(text)]
    counts = Counter(w for w in words if w not in STOPWORDS and len(w) > 2)
    ranked = sorted(counts, key=lambda w: (-counts[w], words.index(w)))
    return tuple(ranked[:limit])
