"""The on-call settings a process pages with: windows, links and the retry schedule.

Built once per process from the environment (``hark.wiring``) and passed to the service
functions: the web process that acknowledges and the worker that triggers page with the same
retry schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from oncall.pagerduty import PageEvent

# Seconds before each retry of a page: at once (a lost worker, a blip), then backing off to
# every 5 minutes; about 35 minutes in all before the incident is page-failed.
DEFAULT_PAGE_RETRIES = (0, 5, 15, 30, 60, 120, 300, 300, 300, 300, 300, 300)


class Pager(Protocol):
    """PagerDuty's Events API (``PagerDutyEvents``) or the dry run that only records."""

    dry_run: bool

    def send(self, event: PageEvent) -> str: ...


@dataclass(frozen=True)
class OncallConfig:
    escalate_after: timedelta = timedelta(minutes=15)
    group_window: timedelta = timedelta(hours=2)
    public_url: str = "http://127.0.0.1:8000"
    p1_pages: bool = False  # P1s page too, at low urgency (severity warning)
    page_retries: tuple[int, ...] = DEFAULT_PAGE_RETRIES
