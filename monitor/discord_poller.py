"""Polling Discord #help (a text channel or a forum) into the intake.

Each place read keeps a cursor, the newest message id (a snowflake) seen: the channel
itself for a text channel, and every active thread whose parent is a watched channel (a
forum's posts are threads). A poll asks for the messages ``after`` the cursor, page by page
(Discord returns the 100 just after it, newest first), submits them oldest first, and moves
the cursor only once ``submit`` has returned for the page: a crash in between reads the page
again and the intake's dedup drops it. A text channel's first poll reads its newest page
only (history is not backfilled); a thread is read from its start.

Discord lists only unarchived threads as active, and archives a thread when its author
closes it or after its auto-archive time without a message. So each poll also lists each
watched channel's threads archived since the last one (``GET .../threads/archived/public``,
latest first, paged with ``before``) and reads them to their end: a reply posted just before
its author closed the post, or a whole post opened and archived while Hark was down, is not
lost. The channel's archive cursor (the latest ``archive_timestamp`` read) moves once a
thread is read; its first value is one poll interval before Hark first polled (earlier
archives are history, not backfilled).

Bots' messages are skipped. A staff member's message (``HARK_DISCORD_STAFF_IDS``) is an
answer, not a report: it is noted on its conversation (``DiscordThreads.answered``) for the
bot's hour-old check, and the first one is handed to an ``AnswerSink`` (the bot marks the
conversation's queue item answered: the team's first response was on Discord). Each
conversation's first message is watched for a ✅ from the team,
checked every poll, which hands the mention to a ``ResolutionSink`` (the bot queues the
resolve). A rate limit pauses the whole source until Discord's ``retry_after``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from monitor.discord_api import (
    FORUM,
    PAGE_SIZE,
    DiscordApi,
    DiscordAuthError,
    DiscordError,
    DiscordRateLimited,
    DiscordRequestError,
)
from monitor.discord_threads import DiscordThreads
from monitor.mention import MentionSink
from monitor.sources.discord import CHANNEL, mention_from_message
from monitor.store import MonitorState
from monitor.x_poller import PollReport

SOURCE = CHANNEL
RESOLVED_EMOJI = "✅"
READ_TYPES = frozenset({0, 19})  # a message and a reply; joins, pins and the like are not


class ResolutionSink(Protocol):
    """Told that a staff member put ✅ on a conversation's first message; idempotent."""

    def resolved(self, mention_id: str, staff_id: str) -> None: ...


class AnswerSink(Protocol):
    """Told of the team's first message in a conversation (``mention_id``: its first
    message's); idempotent."""

    def answered(self, mention_id: str, staff_id: str, at: datetime) -> None: ...


@dataclass(frozen=True)
class Place:
    """Where messages are read: a text channel, or a thread (a forum post is one)."""

    location_id: str
    guild_id: str | None
    forum_id: str | None = None
    thread: bool = False
    title: str | None = None


@dataclass
class DiscordPoller:
    source = SOURCE  # a class attribute, not a field

    api: DiscordApi
    intake: MentionSink
    state: MonitorState
    threads: DiscordThreads
    resolutions: ResolutionSink
    clock: Callable[[], datetime]
    channel_ids: list[str]
    staff_ids: frozenset[str] = frozenset()
    interval_s: float = 60.0
    max_pages: int = 20
    watch_for: timedelta = timedelta(days=14)  # a post older than this is no longer checked
    answers: AnswerSink | None = None
    _info: dict[str, dict[str, Any]] = field(default_factory=dict)

    def poll_once(self) -> PollReport:
        report = PollReport()
        paused = self.state.paused_until(SOURCE)
        if paused and paused > self.clock():
            report.paused[SOURCE] = paused
            return report
        try:
            for place in self._places():
                self._read(place, report)
            for channel_id in self.channel_ids:
                try:
                    self._read_archived(channel_id, report)
                except (DiscordAuthError, DiscordRequestError) as error:  # a missing permission
                    self._failed(report, f"archived threads of {channel_id}: {error}")
            self._check_reactions()
        except DiscordRateLimited as error:
            until = self.clock() + timedelta(seconds=error.retry_after_s)
            self.state.pause(SOURCE, until)
            report.paused[SOURCE] = until
            self._failed(report, str(error))
        except DiscordError as error:
            self._failed(report, str(error))
        if not report.errors:
            self.state.record_success(SOURCE, self.clock(), self.interval_s)
        return report

    def _places(self) -> list[Place]:
        places: list[Place] = []
        guild_threads: dict[str, list[dict[str, Any]]] = {}
        for channel_id in self.channel_ids:
            info = self._channel(channel_id)
            guild = info.get("guild_id")
            forum = channel_id if info.get("type") == FORUM else None
            if forum is None:
                places.append(Place(channel_id, guild))
            if guild and guild not in guild_threads:
                guild_threads[guild] = self.api.active_threads(guild)
            for thread in guild_threads.get(guild or "", []):
                if str(thread.get("parent_id")) == channel_id:
                    places.append(Place(str(thread["id"]), guild, forum, True, thread.get("name")))
        return places

    def _channel(self, channel_id: str) -> dict[str, Any]:
        if channel_id not in self._info:  # a channel's type and guild do not change
            info = self.api.channel(channel_id)
            self._info[channel_id] = {"type": info.get("type"), "guild_id": info.get("guild_id")}
        return self._info[channel_id]

    def _read_archived(self, channel_id: str, report: PollReport) -> None:
        """Read the threads of ``channel_id`` archived since its archive cursor, the
        earliest archived first, skipping those read to their last message already."""
        feed = f"discord:{channel_id}:archived"
        saved = self.state.cursor(feed)
        since = _moment(saved) if saved else self.clock() - timedelta(seconds=self.interval_s)
        if saved is None:
            self.state.save_cursor(feed, since.isoformat())
        info = self._channel(channel_id)
        forum = channel_id if info.get("type") == FORUM else None
        for thread in reversed(self._archived_since(channel_id, since, report)):
            thread_id = str(thread["id"])
            read_to, last = self.state.cursor(f"discord:{thread_id}"), thread.get("last_message_id")
            if not (read_to and last and int(last) <= int(read_to)):
                place = Place(thread_id, info.get("guild_id"), forum, True, thread.get("name"))
                self._read(place, report)
            archived = _archived_at(thread)
            if archived > since:
                since = archived
                self.state.save_cursor(feed, since.isoformat())

    def _archived_since(
        self, channel_id: str, since: datetime, report: PollReport
    ) -> list[dict[str, Any]]:
        """The channel's threads archived at ``since`` or later, latest archived first."""
        found: list[dict[str, Any]] = []
        before: str | None = None
        for _ in range(self.max_pages):
            page, more = self.api.archived_threads(channel_id, before)
            newer = [thread for thread in page if _archived_at(thread) >= since]
            found += newer
            if not more or len(newer) < len(page):
                return found
            before = page[-1]["thread_metadata"]["archive_timestamp"]
        report.errors.append(
            f"discord:{channel_id}: more than {self.max_pages} pages of threads archived "
            "since the last poll; the earliest of them are not read"
        )
        return found

    def _read(self, place: Place, report: PollReport) -> None:
        feed = f"discord:{place.location_id}"
        since = self.state.cursor(feed) or ("0" if place.thread else None)
        newest_only = since is None  # a text channel's first poll: not backfilled
        for _ in range(self.max_pages):
            page = self.api.messages(place.location_id, since)
            for message in sorted(page, key=lambda m: int(m["id"])):
                self._take(message, place, report)
            if page:  # every message of the page was submitted: the cursor may move
                since = max((str(m["id"]) for m in page), key=int)
                self.state.save_cursor(feed, since)
            if newest_only or len(page) < PAGE_SIZE:
                return
        report.errors.append(
            f"{feed}: more than {self.max_pages} pages since the last poll; the rest "
            "is read next time"
        )

    def _take(self, message: dict[str, Any], place: Place, report: PollReport) -> None:
        author = message.get("author") or {}
        if author.get("bot") or message.get("type", 0) not in READ_TYPES:
            report.skipped += 1
            return
        conversation = self._conversation(message, place)
        if str(author.get("id")) in self.staff_ids:
            staff, posted = str(author["id"]), self._posted(message)
            if self.threads.answered(conversation, staff, posted) and self.answers is not None:
                self.answers.answered(f"{SOURCE}:{conversation}", staff, posted)
            report.skipped += 1
            return
        mention = mention_from_message(
            message,
            conversation_id=conversation,
            location_id=place.location_id,
            guild_id=place.guild_id,
            forum_id=place.forum_id,
            title=place.title,
            now=self.clock(),
        )
        if self.intake.submit(mention):
            report.submitted += 1
        else:
            report.duplicates += 1
        if conversation == mention.native_id:
            self.threads.watch(conversation, place.location_id, mention.id, mention.created_at)

    @staticmethod
    def _conversation(message: dict[str, Any], place: Place) -> str:
        if place.thread:
            return place.location_id
        reference = (message.get("message_reference") or {}).get("message_id")
        return str(reference or message["id"])

    def _posted(self, message: dict[str, Any]) -> datetime:
        stamp = message.get("timestamp")
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else self.clock()

    def _check_reactions(self) -> None:
        """A ✅ by a staff member on a watched first message resolves its conversation."""
        now = self.clock()
        for watched in self.threads.watched():
            if now - watched.posted_at > self.watch_for:
                self.threads.unwatch(watched.starter_id)
                continue
            try:
                message = self.api.message(watched.location_id, watched.starter_id)
            except DiscordRequestError:  # deleted, or the thread is gone
                self.threads.unwatch(watched.starter_id)
                continue
            ticked = any(
                (reaction.get("emoji") or {}).get("name") == RESOLVED_EMOJI
                and reaction.get("count", 0) > 0
                for reaction in message.get("reactions") or []
            )
            if not ticked:
                continue
            users = self.api.reaction_users(watched.location_id, watched.starter_id, RESOLVED_EMOJI)
            staff = next((user for user in users if user in self.staff_ids), None)
            if staff:
                self.resolutions.resolved(watched.mention_id, staff)
                self.threads.unwatch(watched.starter_id)

    def _failed(self, report: PollReport, message: str) -> None:
        report.errors.append(message)
        self.state.record_error(SOURCE, self.clock(), self.interval_s, message)


def _moment(stamp: str) -> datetime:
    """Discord's ISO 8601 timestamps (``...+00:00``, or ``Z``) as an aware datetime."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _archived_at(thread: dict[str, Any]) -> datetime:
    return _moment(thread["thread_metadata"]["archive_timestamp"])
