"""What Hark knows of each Discord conversation, in Redis: the posts watched for a ✅ from
the team, and which were answered by staff (the bot's hour-old check reads it).

A conversation is named by its first message's id: a forum post's or a thread's id (Discord
gives a thread started from a message that message's id), or a message in a text channel
that others replied to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from redis import Redis

WATCHED = "hark:discord:watched"  # starter id -> where it is, its mention id, when posted
ANSWERED = "hark:discord:answered"  # starter id -> the first staff answer seen


@dataclass(frozen=True)
class Watched:
    starter_id: str
    location_id: str  # the channel or thread the starter message is in
    mention_id: str
    posted_at: datetime


class DiscordThreads:
    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def watch(self, starter_id: str, location_id: str, mention_id: str, at: datetime) -> None:
        value = {"location": location_id, "mention": mention_id, "at": at.isoformat()}
        self.connection.hsetnx(WATCHED, starter_id, json.dumps(value))

    def unwatch(self, starter_id: str) -> None:
        self.connection.hdel(WATCHED, starter_id)

    def watched(self) -> list[Watched]:
        found = []
        for key, raw in sorted(self.connection.hgetall(WATCHED).items()):
            value = json.loads(raw)
            found.append(
                Watched(
                    key.decode(),
                    value["location"],
                    value["mention"],
                    datetime.fromisoformat(value["at"]),
                )
            )
        return found

    def answered(self, starter_id: str, staff_id: str, at: datetime) -> bool:
        """Keep the first staff answer only (a re-read page changes nothing); True when
        this was the first."""
        value = json.dumps({"by": staff_id, "at": at.isoformat()})
        return bool(self.connection.hsetnx(ANSWERED, starter_id, value))

    def answer(self, starter_id: str) -> tuple[str, datetime] | None:
        """Who of the team answered the conversation first, and when; None: nobody yet."""
        raw = self.connection.hget(ANSWERED, starter_id)
        if raw is None:
            return None
        value = json.loads(raw)
        return value["by"], datetime.fromisoformat(value["at"])
