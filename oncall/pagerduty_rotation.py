"""Who is on call according to PagerDuty: its ``GET /oncalls`` behind the ``Rotation`` API
(``oncall.rotation``), for a team whose schedule lives in PagerDuty.

Every function takes the time it works on; nothing here reads the clock. The requests go
through the REST client passed in (``oncall.pagerduty.PagerDutyRest`` in Hark).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from oncall.pagerduty import RotationError
from oncall.rotation import WEEK_DAYS, Handoff, OnCall, Source, as_utc
from oncall.shifts import TICK


class _OnCallsSource(Protocol):
    def oncalls(self, schedule_ids: list[str], since: datetime, until: datetime) -> list[dict]: ...


def _pd_time(value: object, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field} is {value!r}, not an ISO 8601 time")
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _pd_shift(entry: object) -> OnCall:
    """One ``GET /oncalls`` entry to an ``OnCall``; RotationError if it is not readable."""
    try:
        if not isinstance(entry, dict):
            raise ValueError(f"an entry is {type(entry).__name__}, not an object")
        level, user = entry["escalation_level"], entry["user"]
        if not isinstance(level, int) or isinstance(level, bool):
            raise ValueError(f"escalation_level is {level!r}")
        person = (user.get("summary") or user.get("id")) if isinstance(user, dict) else None
        if not isinstance(person, str):
            raise ValueError("the user has no summary")
        start, end = _pd_time(entry.get("start"), "start"), _pd_time(entry.get("end"), "end")
    except (KeyError, TypeError, ValueError) as error:
        reason = f"no {error}" if isinstance(error, KeyError) else str(error)
        raise RotationError(
            f"PagerDuty /oncalls returned an entry Hark cannot read: {reason}"
        ) from None
    return OnCall(level, person, start, end, "pagerduty", False)


def _covers(shift: OnCall, at: datetime) -> bool:
    return (shift.start is None or shift.start <= at) and (shift.end is None or at < shift.end)


class PagerDutyRotation:
    """The rotation from PagerDuty's ``GET /oncalls`` for ``schedule_ids``.

    One request fetches the shifts from the minute of the asked time for ``window`` (at
    least 7 days, for ``week``); its answer is reused for calls about the same minute for
    ``cache_s`` seconds, measured with the times passed in (no clock is read). A failed
    request raises ``RotationError`` and is not cached. PagerDuty may list several people
    at one level (several schedules or escalation policies): they are all returned, and
    identical entries (one schedule in two policies) only once. PagerDuty does not say
    which shifts are overrides, so ``override`` is always False.
    """

    source: Source = "pagerduty"

    def __init__(
        self,
        rest: _OnCallsSource,
        schedule_ids: Sequence[str],
        cache_s: float = 60,
        window: timedelta = timedelta(days=7),
    ) -> None:
        self._rest, self.schedule_ids = rest, list(schedule_ids)
        self.cache_s, self.window = cache_s, max(window, timedelta(days=WEEK_DAYS))
        self._cache: dict[datetime, tuple[datetime, datetime, list[OnCall]]] = {}

    def _fresh(self, fetched_at: datetime, at: datetime) -> bool:
        return abs((at - fetched_at).total_seconds()) < self.cache_s

    def _shifts(self, at: datetime) -> tuple[datetime, list[OnCall]]:
        """``(until, shifts)`` for the minute of ``at``, from the cache when fresh."""
        minute = at.replace(second=0, microsecond=0)
        cached = self._cache.get(minute)
        if cached is not None and self._fresh(cached[0], at):
            return cached[1], cached[2]
        until = minute + self.window + timedelta(minutes=1)
        entries = self._rest.oncalls(list(self.schedule_ids), minute, until)
        if not isinstance(entries, list):
            raise RotationError("PagerDuty /oncalls answered something other than a list")
        shifts = sorted(
            {_pd_shift(entry) for entry in entries},
            key=lambda s: (s.level, s.start or minute, s.person),
        )
        self._cache = {k: v for k, v in self._cache.items() if self._fresh(v[0], at)}
        self._cache[minute] = (at, until, shifts)
        return until, shifts

    def on_call(self, at: datetime) -> list[OnCall]:
        at = as_utc(at)
        _, shifts = self._shifts(at)
        return sorted((s for s in shifts if _covers(s, at)), key=lambda s: (s.level, s.person))

    def handoffs(self, after: datetime, count: int) -> list[Handoff]:
        """Changes of the people on call at a level, at the shifts' end (and start) times
        inside the fetched window; the last shift's end is left out when PagerDuty's answer
        does not say who comes next."""
        after = as_utc(after)
        until, shifts = self._shifts(after)
        found = []
        for level in sorted({s.level for s in shifts}):
            mine = [s for s in shifts if s.level == level]
            points = {p for s in mine for p in (s.start, s.end) if p is not None}
            for point in sorted(p for p in points if after < p < until):
                before = sorted({s.person for s in mine if _covers(s, point - TICK)})
                now = sorted({s.person for s in mine if _covers(s, point)})
                if before != now:
                    found.append(
                        Handoff(point, level, ", ".join(before) or None, ", ".join(now) or None)
                    )
        found.sort(key=lambda handoff: (handoff.at, handoff.level))
        return found[: max(count, 0)]

    def week(self, start: datetime) -> list[OnCall]:
        """The shifts overlapping the 168 hours from ``start``."""
        start = as_utc(start)
        _, shifts = self._shifts(start)
        end = start + timedelta(days=WEEK_DAYS)
        return [
            s
            for s in shifts
            if (s.start is None or s.start < end) and (s.end is None or s.end > start)
        ]
