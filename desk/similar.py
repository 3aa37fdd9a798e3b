"""Which queue items say the same thing: "answered before" (the most similar items already
replied to, with their replies, to reuse) and cross-channel links (the same problem
reported on X and on GitHub, shown on both items). Pure: items in, ranked items out.

Similarity is the cosine of two texts' word sets: shared words over the geometric mean of
the two sets' sizes. Words are letters-only runs of 3 or more, lowercased and normalized
(``rules.normalize``), without common function words, links or handles; a run of
Chinese or Japanese characters, written without spaces, gives its character pairs. The
cosine rather than Jaccard keeps a short tweet and a long issue about the same crash
close. It is symmetric, so a link shows on both items.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from desk.records import QueueItem
from rules import normalize

ANSWERED_MIN = 0.3  # how close an answered item must be to be offered
LINK_MIN = 0.4  # how close two items on different channels must be to be linked
LINK_WINDOW = timedelta(hours=24)  # received at most this far apart
MIN_SHARED = 3  # fewer shared words is chance ("launch day" in two greetings)
SHOWN = 3
MAX_WORDS = 300

_NOISE = re.compile(r"https?://\S+|@\w+|`[^`]*`")
_WORD = re.compile(r"[^\W\d_]{3,}")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+")
STOPWORDS = frozenset(
    """the and for with this that have has had but not are was were you your from they them
    their what when where which who how why can could would should will just also any all
    its it's into out about there here then than too very get got our ours his her she him
    been being does did doing don't one some more most other such only own same both each few
    hi hello thanks thank please help caro carocli subject""".split()
)


def words(text: str) -> frozenset[str]:
    """The words a text is compared by (see the module's docstring)."""
    clean = _NOISE.sub(" ", normalize(text))
    found = [word for word in _WORD.findall(clean) if word not in STOPWORDS]
    for run in _CJK.findall(clean):
        found += [run[index : index + 2] for index in range(len(run) - 1)] or [run]
    return frozenset(found[:MAX_WORDS])


def similarity(left: frozenset[str], right: frozenset[str]) -> float:
    """Cosine of two word sets: 1.0 the same words, 0.0 none shared."""
    if not left or not right:
        return 0.0
    return len(left & right) / math.sqrt(len(left) * len(right))


@dataclass(frozen=True)
class Similar:
    """Another item, how close it is, and the words they share (to say why)."""

    item: QueueItem
    score: float
    shared: tuple[str, ...]

    @property
    def percent(self) -> int:
        return round(self.score * 100)


def ranked(
    item: QueueItem, others: Iterable[QueueItem], minimum: float, top: int = SHOWN
) -> list[Similar]:
    """The ``top`` items of ``others`` at least ``minimum`` similar to ``item`` and sharing
    ``MIN_SHARED`` words with it, closest first (the newer first on a tie); never ``item``
    itself."""
    mine = words(item.text)
    found = []
    for other in others:
        if other.mention_id == item.mention_id:
            continue
        theirs = words(other.text)
        score, shared = similarity(mine, theirs), mine & theirs
        if score >= minimum and len(shared) >= MIN_SHARED:
            found.append(Similar(other, score, tuple(sorted(shared)[:8])))
    found.sort(key=lambda s: (s.score, s.item.received_at), reverse=True)
    return found[:top]


def answered_before(
    item: QueueItem, answered: Sequence[QueueItem], top: int = SHOWN
) -> list[Similar]:
    """The answered items most like ``item`` whose reply was kept, to reuse: replied (not
    dismissed) and with a draft that has text."""
    replied = [
        other
        for other in answered
        if other.status == "replied" and other.draft is not None and other.draft.text.strip()
    ]
    return ranked(item, replied, ANSWERED_MIN, top)


def linked_reports(
    item: QueueItem, others: Sequence[QueueItem], window: timedelta = LINK_WINDOW
) -> list[Similar]:
    """Items on other channels that report the same problem: received within ``window``
    of ``item`` and at least ``LINK_MIN`` similar. Symmetric: each shows the other."""
    near = [
        other
        for other in others
        if other.channel != item.channel and abs(other.received_at - item.received_at) <= window
    ]
    return ranked(item, near, LINK_MIN)
