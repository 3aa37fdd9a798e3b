"""Polling X: @-mentions of the watched account and searches for Caro, into the intake.

Each feed keeps a cursor (the newest tweet id seen) in Redis. A poll walks the pages newer
than the cursor (``next_token``; on the very first poll, the newest page only: history is
not backfilled), submits every tweet, and only then moves the cursor: a
crash in between means the next poll fetches the same tweets again, and the intake's dedup
drops them. A rate-limited feed is paused until X's reset time without holding up the
others; server errors and timeouts are retried with backoff.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from monitor.mention import MentionSink
from monitor.sources.x import is_retweet, mention_from_tweet
from monitor.store import MonitorState
from monitor.x_api import XApi, XAuthError, XError, XPage, XRateLimited

SOURCE = "x"


@dataclass
class PollReport:
    submitted: int = 0
    duplicates: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    paused: dict[str, datetime] = field(default_factory=dict)  # feed -> until X's reset


@dataclass
class XPoller:
    source = SOURCE  # a class attribute, not a field

    api: XApi
    intake: MentionSink
    state: MonitorState
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    user_id: str | None = None
    username: str | None = None
    queries: list[str] = field(default_factory=list)
    interval_s: float = 60.0
    max_pages: int = 50
    attempts: int = 3

    def poll_once(self) -> PollReport:
        report = PollReport()
        try:
            feeds = self._feeds()
        except XError as error:
            self._failed(report, str(error))
            return report
        for name, fetch in feeds:
            paused = self.state.paused_until(name)
            if paused and paused > self.clock():  # not polled, so no success either
                report.paused[name] = paused
                continue
            try:
                self._poll_feed(name, fetch, report)
            except XRateLimited as error:
                until = self.clock() + timedelta(seconds=error.retry_after_s)
                self.state.pause(name, until)
                self.state.pause(SOURCE, until)  # shown by GET /api/sources
                self._failed(report, f"{name}: {error}")
            except XError as error:
                self._failed(report, f"{name}: {error}")
                if isinstance(error, XAuthError):
                    break  # the same token fails for every feed
        if not report.errors and not report.paused:
            self.state.record_success(SOURCE, self.clock(), self.interval_s)
        return report

    def _feeds(self) -> list[tuple[str, Callable[[str | None, str | None], XPage]]]:
        feeds: list[tuple[str, Callable[[str | None, str | None], XPage]]] = []
        user_id = self._watched_user_id()
        if user_id:
            feeds.append(
                ("x:mentions", lambda since, token: self.api.mentions(user_id, since, token))
            )
        for query in self.queries:
            digest = hashlib.sha256(query.encode()).hexdigest()[:12]
            feeds.append((f"x:search:{digest}", partial(self.api.search, query)))
        return feeds

    def _watched_user_id(self) -> str | None:
        if self.user_id or not self.username:
            return self.user_id
        remembered = self.state.remembered(f"x-user-id:{self.username}")
        if remembered:
            self.user_id = remembered
        else:  # resolved once, then remembered across restarts
            self.user_id = self._with_retries(lambda: self.api.user_id(self.username))
            self.state.remember(f"x-user-id:{self.username}", self.user_id)
        return self.user_id

    def _poll_feed(self, name: str, fetch, report: PollReport) -> None:
        since = self.state.cursor(name)
        pages, token = [], None
        for _ in range(self.max_pages if since else 1):  # first run: the newest page only
            page = self._with_retries(lambda token=token: fetch(since, token))
            pages.append(page)
            token = page.next_token
            if not token:
                break
        now = self.clock()
        for page in reversed(pages):  # oldest first
            for tweet in reversed(page.tweets):
                if is_retweet(tweet) or (self.user_id and tweet.get("author_id") == self.user_id):
                    report.skipped += 1
                    continue
                if self.intake.submit(mention_from_tweet(tweet, page.users, now)):
                    report.submitted += 1
                else:
                    report.duplicates += 1
        newest = pages[0].newest_id
        if newest:  # every tweet fetched has been submitted: the cursor may move
            self.state.save_cursor(name, newest)
        if since and token:
            report.errors.append(
                f"{name}: more than {self.max_pages} pages since the last poll; "
                "older mentions were not fetched (poll more often)"
            )

    def _with_retries(self, call):
        delay = 1.0
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except XError as error:
                if (
                    not error.retryable
                    or isinstance(error, XRateLimited)
                    or attempt == self.attempts
                ):
                    raise
                self.sleep(delay)
                delay *= 2

    def _failed(self, report: PollReport, message: str) -> None:
        report.errors.append(message)
        self.state.record_error(SOURCE, self.clock(), self.interval_s, message)
