"""A Discord message (the REST API's message object) as a ``Mention``.

The conversation is ``thread_id``: the forum post or thread the message is in, or, in a text
channel, the message replied to (or the message itself). Where the bot must act (the thread
to tag and answer in, the forum whose tags apply) is kept in ``raw["hark_discord"]``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.mention import Mention, make_mention

CHANNEL = "discord"
PLACE_KEY = "hark_discord"


def mention_from_message(
    message: dict[str, Any],
    *,
    conversation_id: str,
    location_id: str,
    guild_id: str | None,
    forum_id: str | None,
    title: str | None,
    now: datetime,
) -> Mention:
    """``title``: the forum post's or thread's name, put before the starter's text (a forum
    post's title often says more than its body)."""
    author = message.get("author") or {}
    reference = (message.get("message_reference") or {}).get("message_id")
    text = message.get("content", "")
    if title and message["id"] == conversation_id:
        text = f"{title}\n{text}" if text else title
    stamp = message.get("timestamp")
    place = {
        "location_id": location_id,
        "forum_id": forum_id,
        "starter": message["id"] == conversation_id,
    }
    return make_mention(
        channel=CHANNEL,
        native_id=str(message["id"]),
        now=now,
        author=author.get("username", ""),
        text=text,
        url=f"https://discord.com/channels/{guild_id or '@me'}/{location_id}/{message['id']}",
        created_at=datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else now,
        thread_id=conversation_id,
        reply_to=f"{CHANNEL}:{reference}" if reference else None,
        raw={"message": message, PLACE_KEY: place},
    )
