"""X tweets (API v2 JSON) as Mentions; pure code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.mention import Mention, make_mention


def is_retweet(tweet: dict[str, Any]) -> bool:
    return any(ref.get("type") == "retweeted" for ref in tweet.get("referenced_tweets") or [])


def mention_from_tweet(
    tweet: dict[str, Any], users: dict[str, dict[str, Any]], now: datetime
) -> Mention:
    author = users.get(tweet.get("author_id", ""), {})
    username = author.get("username", "")
    replied = [
        ref["id"] for ref in tweet.get("referenced_tweets") or [] if ref.get("type") == "replied_to"
    ]
    created = tweet.get("created_at")
    return make_mention(
        channel="x",
        native_id=str(tweet["id"]),
        now=now,
        author=username,
        text=tweet.get("text", ""),
        url=f"https://x.com/{username or 'i'}/status/{tweet['id']}",
        created_at=datetime.fromisoformat(created.replace("Z", "+00:00")) if created else now,
        thread_id=tweet.get("conversation_id"),
        reply_to=f"x:{replied[0]}" if replied else None,
        language=tweet.get("lang"),
        author_reach=(author.get("public_metrics") or {}).get("followers_count"),
        raw={"tweet": tweet, "author": author},
    )
