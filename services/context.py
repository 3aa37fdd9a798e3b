"""The dependencies every service function takes: one record per process, built once by
``hark.wiring`` and passed explicitly (to views through the Flask app, to jobs by the worker).
Nothing here is global: two apps or workers in one process each have their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from redis import Redis

from desk.config import DeskConfig
from desk.records import StoredMention
from oncall.config import OncallConfig, Pager
from oncall.pagerduty import DryRunPager
from rules import Engine


def utc_now() -> datetime:
    return datetime.now(UTC)


class NoRulebook(RuntimeError):
    """A triage was asked of a process that loaded no rulebook."""


def _no_engine() -> Engine:
    raise NoRulebook("no rulebook in this process: triage runs in `hark worker`, which loads it")


class ReplyPoster(Protocol):
    """Posts a reply on X (``monitor.x_api.XPoster``); returns the new post's id."""

    def reply(self, text: str, in_reply_to_tweet_id: str) -> str: ...


class ChannelBot(Protocol):
    """A channel that talks back (GitHub labels and comments, Discord tags and replies, the
    mailbox's auto-reply): told of each mention once it is triaged and stored, it queues
    its own write-back job (``services.bots``) and returns at once. A bot never raises
    into triage: what it sends, it sends from its job, retried and recorded there."""

    @property
    def name(self) -> str: ...

    def after_triage(
        self, services: Services, mention: StoredMention, incident_id: str | None
    ) -> None: ...

    def after_correction(self, services: Services, mention: StoredMention) -> None:
        """A person changed ``mention``'s priority (``mention`` as it is now): bring what
        the bot shows of it on its channel in line (a label, a tag), or nothing."""
        ...


@dataclass(frozen=True)
class Services:
    connection: Redis
    oncall: OncallConfig = field(default_factory=OncallConfig)
    desk: DeskConfig = field(default_factory=DeskConfig)
    pager: Pager = field(default_factory=DryRunPager)
    clock: Callable[[], datetime] = utc_now
    # The active rulebook, compiled: a worker's reloads the file when it changes and keeps
    # the last good one.
    engine: Callable[[], Engine] = _no_engine
    # Posts approved replies on X: set with the four X user-context settings, else None
    # (the desk then answers by hand).
    x_poster: ReplyPoster | None = None
    # The channels that talk back, each off until its settings are set (hark.wiring).
    bots: tuple[ChannelBot, ...] = ()
