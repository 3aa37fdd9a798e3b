"""What a worker process hands to its jobs: the rulebook and the on-call configuration.

RQ jobs are plain functions; the worker (``hark worker``) builds these once from the
settings and sets them here before it starts, so jobs hold no settings of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from oncall.pagerduty import DryRunPager, PagerDutyEvents
from rules import Engine


@dataclass(frozen=True)
class OncallConfig:
    pager: PagerDutyEvents | DryRunPager = field(default_factory=DryRunPager)
    escalate_after: timedelta = timedelta(minutes=15)
    group_window: timedelta = timedelta(hours=2)
    public_url: str = "http://127.0.0.1:8000"
    p1_pages: bool = False  # P1 pages at low urgency (severity warning) when True
    # Seconds before each retry of a page: at once (a lost worker, a blip), then backing
    # off to every 5 minutes; about 35 minutes in all before the incident is page-failed.
    page_retries: tuple[int, ...] = (0, 5, 15, 30, 60, 120, 300, 300, 300, 300, 300, 300)
    replies: Any = None  # the reply templates (desk.drafts); None: no reply queue
    no_reply: frozenset[tuple[str, str]] = frozenset({("x", "praise")})  # (channel|*, kind)


@dataclass
class Runtime:
    engine: Callable[[], Engine] | None = None
    oncall: OncallConfig = field(default_factory=OncallConfig)


_runtime = Runtime()


def configure(engine: Callable[[], Engine], oncall: OncallConfig) -> None:
    """Called once by the worker process before it takes jobs."""
    _runtime.engine, _runtime.oncall = engine, oncall


def current_engine() -> Engine:
    if _runtime.engine is None:
        raise RuntimeError(
            "no rulebook in this worker: run jobs with `hark worker`, which loads it"
        )
    return _runtime.engine()


def oncall_config() -> OncallConfig:
    return _runtime.oncall
