"""Discord's REST API (v10), the one module that talks to Discord.

Polled over HTTPS with the standard library rather than a gateway library: Hark's pollers
run a synchronous round every interval with cursors kept in Redis, while discord.py keeps
a websocket session open in an asyncio loop (and needs the privileged message-content
intent); reading ``GET /channels/{id}/messages?after=`` fits the poll model as X does.

Authentication is ``Authorization: Bot <token>``. Rate limits follow Discord's contract:
each response's ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset-After`` (per bucket,
``X-RateLimit-Bucket``) are remembered, and a call to a bucket that is spent waits for its
reset when that is short; a 429 carries ``retry_after`` in seconds (a float) in its JSON
body, and ``global: true`` when the whole bot is limited. A short wait is slept and the
call retried once; a long one raises ``DiscordRateLimited`` for the caller to pause on.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

USER_AGENT = "DiscordBot (https://github.com/caro-cli/hark, 1.0)"  # the form Discord asks for
FORUM = 15  # channel type of a forum channel (GUILD_FORUM); a text channel is 0
MAX_WAIT_S = 5.0  # a rate-limit wait this short is slept through; longer ones raise
PAGE_SIZE = 100  # Discord's maximum ``limit`` for messages
_ROUTE_IDS = re.compile(r"/\d{5,}")


class DiscordError(Exception):
    retryable = True


class DiscordAuthError(DiscordError):
    """401 or 403: the token is wrong or the bot may not see the channel."""

    retryable = False


class DiscordRequestError(DiscordError):
    """4xx other than auth and rate limits: a bad id or payload; retrying will not help."""

    retryable = False


class DiscordRateLimited(DiscordError):
    def __init__(self, retry_after_s: float, is_global: bool) -> None:
        scope = "globally" if is_global else "on this route"
        super().__init__(f"rate limited {scope} for {retry_after_s:.1f} s")
        self.retry_after_s, self.is_global = retry_after_s, is_global


class DiscordApi:
    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        now_s: Callable[[], float],
        sleep: Callable[[float], None],
        timeout_s: float = 10.0,
    ) -> None:
        self._token, self.base_url = token, base_url.rstrip("/")
        self._now_s, self._sleep, self._timeout_s = now_s, sleep, timeout_s
        self._bucket_of: dict[str, str] = {}  # route -> Discord's bucket id
        self._spent_until: dict[str, float] = {}  # bucket (or route) -> epoch seconds

    # -- reading ---------------------------------------------------------------------------

    def channel(self, channel_id: str) -> dict[str, Any]:
        return self._call("GET", f"/channels/{channel_id}")

    def active_threads(self, guild_id: str) -> list[dict[str, Any]]:
        """The guild's active threads (forum posts among them), each with its ``parent_id``."""
        return list(self._call("GET", f"/guilds/{guild_id}/threads/active").get("threads", []))

    def archived_threads(
        self, channel_id: str, before: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of the channel's archived public threads (a forum's closed posts), latest
        archived first, archived before ``before`` (an ISO 8601 moment) if given; and whether
        there are more."""
        query = {"limit": PAGE_SIZE, **({"before": before} if before else {})}
        page = self._call(
            "GET", f"/channels/{channel_id}/threads/archived/public?{urlencode(query)}"
        )
        return list(page.get("threads", [])), bool(page.get("has_more"))

    def messages(self, channel_id: str, after: str | None) -> list[dict[str, Any]]:
        """Up to 100 messages newer than ``after`` (the newest 100 without it), newest first
        as Discord returns them."""
        query = {"limit": PAGE_SIZE, **({"after": after} if after else {})}
        return list(self._call("GET", f"/channels/{channel_id}/messages?{urlencode(query)}"))

    def message(self, channel_id: str, message_id: str) -> dict[str, Any]:
        return self._call("GET", f"/channels/{channel_id}/messages/{message_id}")

    def reaction_users(self, channel_id: str, message_id: str, emoji: str) -> list[str]:
        """The ids of the users who reacted with ``emoji`` (a Unicode emoji)."""
        path = f"/channels/{channel_id}/messages/{message_id}/reactions/{quote(emoji)}?limit=100"
        return [str(user["id"]) for user in self._call("GET", path)]

    # -- writing ---------------------------------------------------------------------------

    def post_message(
        self,
        channel_id: str,
        content: str,
        *,
        nonce: str,
        mention_user_ids: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Post ``content``; with ``nonce`` enforced, Discord returns the message already
        posted with that nonce in the last few minutes instead of posting it again, so a
        retried job does not answer twice. Only ``mention_user_ids`` are pinged."""
        body = {
            "content": content,
            "nonce": nonce,
            "enforce_nonce": True,
            "allowed_mentions": {"parse": [], "users": list(mention_user_ids)},
        }
        return self._call("POST", f"/channels/{channel_id}/messages", body)

    def set_forum_tags(self, forum_id: str, tags: list[dict[str, Any]]) -> dict[str, Any]:
        """Replace a forum's ``available_tags`` (tags keep their ``id``; new ones have none)."""
        return self._call("PATCH", f"/channels/{forum_id}", {"available_tags": tags})

    def apply_tags(self, thread_id: str, tag_ids: list[str]) -> dict[str, Any]:
        return self._call("PATCH", f"/channels/{thread_id}", {"applied_tags": tag_ids})

    # -- transport -------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        route = f"{method} {_ROUTE_IDS.sub('/{id}', path.split('?')[0])}"
        for attempt in (1, 2):
            self._wait_for_bucket(route)
            try:
                return self._send(method, path, body, route)
            except DiscordRateLimited as limited:
                if attempt == 2 or limited.retry_after_s > MAX_WAIT_S:
                    raise
                self._sleep(limited.retry_after_s)
        raise AssertionError("unreachable")

    def _wait_for_bucket(self, route: str) -> None:
        until = self._spent_until.get(self._bucket_of.get(route, route), 0.0)
        wait = until - self._now_s()
        if wait > MAX_WAIT_S:
            raise DiscordRateLimited(wait, is_global=False)
        if wait > 0:
            self._sleep(wait)

    def _send(self, method: str, path: str, body: dict[str, Any] | None, route: str) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", f"Bot {self._token}")
        request.add_header("User-Agent", USER_AGENT)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                self._remember_limits(route, response.headers)
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            self._remember_limits(route, error.headers)
            raise _error_for(error) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise DiscordError(f"{method} {route.split(' ', 1)[1]}: {error}") from None

    def _remember_limits(self, route: str, headers: Any) -> None:
        bucket = headers.get("X-RateLimit-Bucket") if headers else None
        if bucket:
            self._bucket_of[route] = bucket
        remaining, reset_after = (
            (headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset-After"))
            if headers
            else (None, None)
        )
        if remaining == "0" and reset_after:
            self._spent_until[bucket or route] = self._now_s() + float(reset_after)


def _error_for(error: urllib.error.HTTPError) -> DiscordError:
    try:
        payload = json.loads(error.read() or b"{}")
    except ValueError:
        payload = {}
    message = payload.get("message", error.reason) if isinstance(payload, dict) else error.reason
    if error.code == 429:
        retry_after = float(payload.get("retry_after", 1.0)) if isinstance(payload, dict) else 1.0
        return DiscordRateLimited(retry_after, bool(payload.get("global", False)))
    if error.code in (401, 403):
        return DiscordAuthError(f"{error.code} {message}")
    if 400 <= error.code < 500:
        return DiscordRequestError(f"{error.code} {message}")
    return DiscordError(f"{error.code} {message}")
