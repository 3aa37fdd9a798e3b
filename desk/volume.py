"""Volume spikes: how many mentions came in per window, against a rolling baseline.

Pure: counts and times in, verdicts out (``services.awareness`` keeps the counts in Redis).

The rule, per scope ("all", each channel, and "unflagged" reports):

    a window is a spike when its count >= max(min_count, mean + k * max(sd, 1))

where mean and sd are those of the ``baseline`` windows just before it (a window nobody
wrote in counts 0). With the defaults, ten minutes against the hour before, k = 3 and at
least 10 mentions overall (6 on one channel, 5 unflagged): a launch burst from a quiet
start is a spike at its 10th mention, and a normal hour's ups and downs are not. The floor
of 1 on the deviation keeps a flat baseline from making any small rise a spike.

"Unflagged" is the playbook's "surge without any keyword": mentions the rules left at the
lowest level without calling them praise, a wish or a question (``is_unflagged``), so a
crowd saying something is wrong in words no rule knows still shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

WINDOW = timedelta(minutes=10)
BASELINE_WINDOWS = 6  # the hour before
K = 3.0
MIN_SD = 1.0
ALL = "all"
UNFLAGGED = "unflagged"
# The fewest mentions in a window that make a spike, per scope (a channel: the default).
MIN_COUNTS = {ALL: 10, UNFLAGGED: 5}
MIN_COUNT_CHANNEL = 6
# Kinds that say what a lowest-level message is; anything else at the lowest level
# ("bug", "other") is a report the rules did not flag.
EXPLAINED_KINDS = frozenset({"praise", "feature", "question"})
LOWEST_LEVEL = "P3"


@dataclass(frozen=True)
class SpikeRule:
    """The thresholds: the window's length, how many windows make the baseline, k."""

    window: timedelta = WINDOW
    baseline: int = BASELINE_WINDOWS
    k: float = K

    def min_count(self, scope: str) -> int:
        return MIN_COUNTS.get(scope, MIN_COUNT_CHANNEL)

    def threshold(self, scope: str, history: Sequence[int]) -> int:
        """The smallest count that is a spike after ``history`` (oldest first)."""
        mean, sd = mean_sd(history)
        return max(self.min_count(scope), math.ceil(mean + self.k * max(sd, MIN_SD)))


@dataclass(frozen=True)
class Spike:
    """A window whose count reached its threshold."""

    scope: str
    window_start: datetime
    count: int
    baseline_mean: float
    threshold: int

    def describe(self, window: timedelta = WINDOW, start: str | None = None) -> str:
        """In words; ``start``: the window's start as the reader's clock shows it (the
        pages pass the team's time), by default UTC, as PagerDuty gets it."""
        seconds = int(window.total_seconds())
        length = f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"
        what = "mentions" if self.scope == ALL else f"{self.scope} mentions"
        start = start or f"{self.window_start:%H:%M} UTC"
        return (
            f"{self.count} {what} in {length} from {start} "
            f"(usual {self.baseline_mean:.1f}, spike from {self.threshold})"
        )


def mean_sd(values: Sequence[int]) -> tuple[float, float]:
    """Mean and population standard deviation; (0, 0) for no values."""
    if not values:
        return 0.0, 0.0
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def window_start(moment: datetime, window: timedelta = WINDOW) -> datetime:
    """The start of the window holding ``moment`` (windows are aligned on the epoch)."""
    seconds = window.total_seconds()
    epoch = moment.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def window_starts(last: datetime, count: int, window: timedelta = WINDOW) -> list[datetime]:
    """``count`` window starts ending with ``last``'s window, oldest first."""
    end = window_start(last, window)
    return [end - window * (count - 1 - index) for index in range(count)]


def detect(
    scope: str, counts: Sequence[int], starts: Sequence[datetime], rule: SpikeRule
) -> Spike | None:
    """The spike in the last of ``counts`` (one per window, oldest first, the windows
    starting at ``starts``), judged against the ``rule.baseline`` windows before it; None
    when it is not one."""
    if not counts:
        return None
    history, count = list(counts[:-1])[-rule.baseline :], counts[-1]
    threshold = rule.threshold(scope, history)
    if count < threshold:
        return None
    mean, _ = mean_sd(history)
    return Spike(scope, starts[-1], count, mean, threshold)


def spikes_in(
    scope: str, counts: Sequence[int], starts: Sequence[datetime], rule: SpikeRule
) -> list[Spike]:
    """Every window of a series that is a spike (for the overview's sparkline)."""
    found = []
    for index in range(len(counts)):
        spike = detect(scope, counts[: index + 1], starts[: index + 1], rule)
        if spike is not None:
            found.append(spike)
    return found


def is_unflagged(priority: str, kind: str) -> bool:
    """A report the rules did not flag: lowest level, and not praise, a wish or a question."""
    return priority == LOWEST_LEVEL and kind not in EXPLAINED_KINDS
