"""A local fake of the Discord REST API (v10) endpoints Hark uses, enforcing the contract.

- ``Authorization: Bot <token>`` on every request, else 401 ``{"message": "401:
  Unauthorized", "code": 0}``;
- snowflake ids (time-ordered, Discord's epoch); ``GET /channels/{id}/messages`` with
  ``limit`` (1-100, default 50) and ``after``: the ``limit`` messages just after it, newest
  first; without ``after``, the newest ``limit``, newest first; a non-numeric id: 400;
- forum channels (type 15) with ``available_tags`` (PATCH replaces the list, new tags get
  ids, at most 20), posts as threads (type 11, ``parent_id``) whose starter message has the
  thread's id; ``applied_tags`` must name the forum's tags (at most 5), else 400;
- threads carry ``thread_metadata`` (``archived``, ``archive_timestamp``, ``locked``) and
  ``last_message_id``; ``GET /guilds/{id}/threads/active`` lists the unarchived ones, ``GET
  /channels/{id}/threads/archived/public`` (``before``: an ISO 8601 timestamp, ``limit``
  2-100, default 50) the archived ones, latest archived first, with ``has_more``; a PATCH of
  an archived thread that does not unarchive it is refused (50083), a message in one
  unarchives it unless it is locked (then 50083);
- reactions on messages (``reactions`` counts on the message, ``GET .../reactions/{emoji}``
  the users);
- ``POST /channels/{id}/messages`` (content at most 2000 characters) with ``nonce`` and
  ``enforce_nonce``: the same nonce from the same author returns the first message;
- ``X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket`` on every answer; scripted 429s
  with a JSON ``retry_after`` (seconds, a float), ``global`` and ``Retry-After``.

Run standalone (``main``), it also takes orders under ``/_fake/`` (not Discord's API, no
auth, loopback only), so that a person can play the #help forum's users and staff beside a
running Hark: ``POST /_fake/posts`` ``{"title", "content", "at"?}`` opens a forum post (``at``:
an ISO 8601 moment, the post's time, e.g. an off-hours one, or one over an hour old);
``/_fake/messages`` ``{"channel_id", "content", "staff"?, "at"?}`` posts in a thread;
``/_fake/reactions`` ``{"channel_id", "message_id", "emoji"?, "staff"?}`` reacts (✅ by
default); ``/_fake/archive`` ``{"thread_id"}`` archives a thread; ``/_fake/rate-limits``
``{"retry_after", "global"?, "count"?}`` answers the next requests with 429s. ``GET
/_fake/threads/{id}`` shows a thread and its messages; ``GET /_fake/requests`` the requests
seen.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

DISCORD_EPOCH_MS = 1_420_070_400_000
FORUM, TEXT, PUBLIC_THREAD = 15, 0, 11
BOT_USER = {"id": "999000000000000001", "username": "hark-bot", "bot": True}
ASKER = {"id": "100000000000000001", "username": "sam"}  # the standalone fake's users
STAFF_USER = {"id": "300000000000000001", "username": "caro-team"}
ARCHIVED = 50083  # Discord's code: "Operation cannot be performed on an archived thread"


def _iso(epoch_s: float) -> str:
    """Discord's timestamp form: ``2026-12-07T17:42:53.123000+00:00``."""
    ms = int(epoch_s * 1000)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}000+00:00"
    )


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class FakeDiscord:
    def __init__(self, token: str, port: int = 0) -> None:
        self.token = token
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel -> oldest first
        self.reactions: dict[tuple[str, str], dict[str, list[str]]] = {}  # -> emoji -> users
        self.rate_limits: list[tuple[float, bool]] = []  # the next requests' 429s
        self.no_history: set[str] = set()  # channels whose history the bot may not read
        self.requests: list[str] = []
        self._nonces: dict[tuple[str, str], dict[str, Any]] = {}
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v10"

    def start(self) -> FakeDiscord:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the world a test sets up ----------------------------------------------------------

    def snowflake(self, at_s: float | None = None) -> str:
        """A new id, time-ordered as Discord's: of ``at_s`` (epoch seconds), else of now."""
        ms = int((time.time() if at_s is None else at_s) * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (next(self._sequence) & 0xFFF))

    def add_channel(self, guild_id: str, *, forum: bool = False, tags: tuple[str, ...] = ()):
        channel_id = self.snowflake()
        channel: dict[str, Any] = {
            "id": channel_id,
            "guild_id": guild_id,
            "type": FORUM if forum else TEXT,
            "name": "help",
        }
        if forum:
            channel["available_tags"] = [self._tag(name) for name in tags]
        self.channels[channel_id] = channel
        self.messages[channel_id] = []
        return channel_id

    def add_post(
        self,
        forum_id: str,
        title: str,
        author: dict[str, Any],
        content: str,
        at_s: float | None = None,
    ) -> str:
        """A forum post: a thread whose starter message has the thread's id; ``at_s``
        (epoch seconds) when it was posted, else now."""
        thread_id = self.snowflake(at_s)
        self.channels[thread_id] = {
            "id": thread_id,
            "guild_id": self.channels[forum_id]["guild_id"],
            "type": PUBLIC_THREAD,
            "parent_id": forum_id,
            "name": title,
            "applied_tags": [],
            "last_message_id": thread_id,
            "thread_metadata": {
                "archived": False,
                "archive_timestamp": _iso(at_s if at_s is not None else time.time()),
                "auto_archive_duration": 1440,
                "locked": False,
            },
        }
        self.messages[thread_id] = [self._message(thread_id, author, content, thread_id)]
        return thread_id

    def archive(self, thread_id: str, *, locked: bool = False, at_s: float | None = None) -> None:
        """Archive a thread (now, or at ``at_s``), as its poster closing it or Discord's
        inactivity timer does."""
        moment = _iso(time.time() if at_s is None else at_s)
        self.channels[thread_id]["thread_metadata"].update(
            archived=True, archive_timestamp=moment, locked=locked
        )

    def post(
        self,
        channel_id: str,
        author: dict[str, Any],
        content: str,
        reply_to: str | None = None,
        at: str | None = None,
    ) -> str:
        message = self._message(channel_id, author, content, self.snowflake(), reply_to)
        if at:
            message["timestamp"] = at
        self._append(channel_id, message)
        return str(message["id"])

    def _append(self, channel_id: str, message: dict[str, Any]) -> None:
        self.messages[channel_id].append(message)
        if "thread_metadata" in self.channels[channel_id]:
            self.channels[channel_id]["last_message_id"] = message["id"]

    def react(self, channel_id: str, message_id: str, emoji: str, user_id: str) -> None:
        users = self.reactions.setdefault((channel_id, message_id), {}).setdefault(emoji, [])
        if user_id not in users:
            users.append(user_id)

    def bot_messages(self, channel_id: str) -> list[dict[str, Any]]:
        return [m for m in self.messages[channel_id] if m["author"].get("bot")]

    def _tag(self, name: str) -> dict[str, Any]:
        return {"id": self.snowflake(), "name": name, "moderated": False, "emoji_name": None}

    def _message(
        self,
        channel_id: str,
        author: dict[str, Any],
        content: str,
        message_id: str,
        reply_to: str | None = None,
    ) -> dict[str, Any]:
        ms = (int(message_id) >> 22) + DISCORD_EPOCH_MS
        message: dict[str, Any] = {
            "id": message_id,
            "channel_id": channel_id,
            "type": 19 if reply_to else 0,
            "author": author,
            "content": content,
            "timestamp": _iso(ms / 1000),
        }
        if reply_to:
            message["message_reference"] = {"message_id": reply_to, "channel_id": channel_id}
        return message

    def _with_reactions(self, message: dict[str, Any]) -> dict[str, Any]:
        found = self.reactions.get((message["channel_id"], message["id"]), {})
        counts = [
            {"emoji": {"id": None, "name": emoji}, "count": len(users), "me": False}
            for emoji, users in found.items()
            if users
        ]
        return {**message, "reactions": counts} if counts else message

    # -- the API ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple:
        parts = path.strip("/").split("/")
        if parts[:2] != ["api", "v10"]:
            return 404, {"message": "404: Not Found", "code": 0}
        parts = parts[2:]
        if len(parts) == 4 and parts[0] == "guilds" and parts[2:] == ["threads", "active"]:
            threads = [
                c
                for c in self.channels.values()
                if c["type"] == PUBLIC_THREAD
                and c["guild_id"] == parts[1]
                and not c["thread_metadata"]["archived"]
            ]
            return 200, {"threads": threads, "members": []}
        if not parts or parts[0] != "channels" or len(parts) < 2:
            return 404, {"message": "404: Not Found", "code": 0}
        channel_id = parts[1]
        # the channel's id and, under /messages, the message's: snowflakes
        ids = parts[1:4:2] if parts[2:3] == ["messages"] else parts[1:2]
        if not all(p.isdigit() for p in ids):
            return 400, {"message": "Invalid Form Body", "code": 50035}
        channel = self.channels.get(channel_id)
        if channel is None:
            return 404, {"message": "Unknown Channel", "code": 10003}
        if len(parts) == 2:
            if method == "GET":
                return 200, channel
            if method == "PATCH":
                return self._modify(channel, body or {})
        if parts[2:] == ["threads", "archived", "public"] and method == "GET":
            if channel_id in self.no_history:  # Read Message History is needed
                return 403, {"message": "Missing Access", "code": 50001}
            return self._archived(channel_id, query)
        if len(parts) == 3 and parts[2] == "messages":
            if method == "GET":
                return self._list(channel_id, query)
            if method == "POST":
                return self._create(channel_id, body or {})
        if len(parts) >= 4 and parts[2] == "messages":
            message = next((m for m in self.messages[channel_id] if m["id"] == parts[3]), None)
            if message is None:
                return 404, {"message": "Unknown Message", "code": 10008}
            if len(parts) == 4 and method == "GET":
                return 200, self._with_reactions(message)
            if len(parts) == 6 and parts[4] == "reactions" and method == "GET":
                found = self.reactions.get((channel_id, parts[3]), {}).get(unquote(parts[5]), [])
                return 200, [{"id": user, "username": f"user{user[-4:]}"} for user in found]
        return 405, {"message": "405: Method Not Allowed", "code": 0}

    def _list(self, channel_id: str, query: dict[str, str]) -> tuple:
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            limit = 0
        after = query.get("after")
        if not 1 <= limit <= 100 or (after is not None and not after.isdigit()):
            return 400, {"message": "Invalid Form Body", "code": 50035}
        found = self.messages[channel_id]
        if after is not None:
            chosen = [m for m in found if int(m["id"]) > int(after)][:limit]
        else:
            chosen = found[-limit:]
        return 200, [self._with_reactions(m) for m in reversed(chosen)]

    def _archived(self, channel_id: str, query: dict[str, str]) -> tuple:
        """The channel's archived public threads, latest archived first, ``before`` a moment."""
        try:
            limit = int(query.get("limit", "50"))
            before = _epoch(query["before"]) if "before" in query else None
        except ValueError:
            return 400, {"message": "Invalid Form Body", "code": 50035}
        if not 2 <= limit <= 100:
            return 400, {"message": "Invalid Form Body", "code": 50035}
        archived = sorted(
            (
                c
                for c in self.channels.values()
                if c.get("parent_id") == channel_id and c["thread_metadata"]["archived"]
            ),
            key=lambda c: _epoch(c["thread_metadata"]["archive_timestamp"]),
            reverse=True,
        )
        if before is not None:
            archived = [
                c for c in archived if _epoch(c["thread_metadata"]["archive_timestamp"]) < before
            ]
        return 200, {"threads": archived[:limit], "members": [], "has_more": len(archived) > limit}

    def _create(self, channel_id: str, body: dict[str, Any]) -> tuple:
        content = body.get("content", "")
        if not content or len(content) > 2000:
            return 400, {"message": "Invalid Form Body", "code": 50035}
        metadata = self.channels[channel_id].get("thread_metadata")
        if metadata and metadata["archived"]:
            if metadata["locked"]:
                return 400, {"message": "Thread is locked", "code": ARCHIVED}
            metadata["archived"] = False  # a message in an archived thread unarchives it
        nonce = body.get("nonce")
        if nonce is not None and len(str(nonce)) > 25:
            return 400, {"message": "Invalid Form Body", "code": 50035}
        key = (BOT_USER["id"], str(nonce))
        if nonce is not None and body.get("enforce_nonce") and key in self._nonces:
            return 200, self._nonces[key]
        message = self._message(channel_id, BOT_USER, content, self.snowflake())
        message["allowed_mentions"] = body.get("allowed_mentions")
        self._append(channel_id, message)
        if nonce is not None:
            self._nonces[key] = message
        return 200, message

    def _modify(self, channel: dict[str, Any], body: dict[str, Any]) -> tuple:
        metadata = channel.get("thread_metadata")
        if metadata and metadata["archived"]:
            if body.get("archived") is not False:
                return 400, {"message": "Thread is archived", "code": ARCHIVED}
            metadata["archived"] = False
        if "available_tags" in body:
            if channel["type"] != FORUM or len(body["available_tags"]) > 20:
                return 400, {"message": "Invalid Form Body", "code": 50035}
            channel["available_tags"] = [
                tag if tag.get("id") else {**self._tag(tag["name"]), **tag, "id": self.snowflake()}
                for tag in body["available_tags"]
            ]
        if "applied_tags" in body:
            forum = self.channels.get(channel.get("parent_id", ""))
            known = {t["id"] for t in (forum or {}).get("available_tags", [])}
            tags = [str(t) for t in body["applied_tags"]]
            if forum is None or len(tags) > 5 or not set(tags) <= known:
                return 400, {"message": "Invalid Form Body", "code": 50035}
            channel["applied_tags"] = tags
        return 200, channel

    # -- orders from a person driving a standalone fake (not Discord's API) ---------------

    def control(self, method: str, path: str, body: dict[str, Any]) -> tuple:
        """``/_fake/...``: see the module's docstring. Uses the first forum, the seeded
        asker and staff member."""
        what = path.removeprefix("/_fake/").strip("/")
        forum = next((c for c in self.channels.values() if c["type"] == FORUM), None)
        try:
            if method == "GET" and what == "requests":
                return 200, self.requests[-200:]
            if method == "GET" and what.startswith("threads/"):
                thread_id = what.removeprefix("threads/")
                return 200, {**self.channels[thread_id], "messages": self.messages[thread_id]}
            if method != "POST":
                return 405, {"message": "405: Method Not Allowed"}
            return self._order(what, body, forum)
        except (KeyError, TypeError, ValueError) as error:
            return 400, {"message": f"bad order: {error!r}"}

    def _order(self, what: str, body: dict[str, Any], forum: dict[str, Any] | None) -> tuple:
        who = STAFF_USER if body.get("staff") else ASKER
        if what == "posts" and forum is not None:
            at = _epoch(body["at"]) if body.get("at") else None
            thread_id = self.add_post(forum["id"], body["title"], who, body["content"], at)
            return 200, {"thread_id": thread_id}
        if what == "messages":
            at = body.get("at")  # the message's time (its id stays of now)
            return 200, {"message_id": self.post(body["channel_id"], who, body["content"], at=at)}
        if what == "reactions":
            user = STAFF_USER["id"] if body.get("staff", True) else ASKER["id"]
            emoji = body.get("emoji", "✅")
            self.react(body["channel_id"], body["message_id"], emoji, user)
            return 200, {"reacted": emoji, "by": user}
        if what == "archive":
            self.archive(body["thread_id"], locked=bool(body.get("locked")))
            return 200, self.channels[body["thread_id"]]
        if what == "rate-limits":
            limit = (float(body["retry_after"]), bool(body.get("global")))
            self.rate_limits.extend([limit] * int(body.get("count", 1)))
            return 200, {"queued_429s": len(self.rate_limits)}
        return 404, {"message": f"no order {what!r}"}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _serve(self, method: str) -> None:
                parsed = urlparse(self.path)
                if not parsed.path.startswith("/_fake/"):
                    fake.requests.append(f"{method} {self.path}")  # with its query
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake._lock:
                    limited = None
                    if parsed.path.startswith("/_fake/"):
                        try:
                            order = json.loads(raw) if raw else {}
                        except ValueError:
                            order = None
                        status, payload = fake.control(method, parsed.path, order or {})
                    elif self.headers.get("Authorization") != f"Bot {fake.token}":
                        status, payload, limited = 401, {"message": "401: Unauthorized"}, None
                        payload["code"] = 0
                    elif fake.rate_limits:
                        limited = fake.rate_limits.pop(0)
                        status, payload = (
                            429,
                            {
                                "message": "You are being rate limited.",
                                "retry_after": limited[0],
                                "global": limited[1],
                            },
                        )
                    else:
                        limited = None
                        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
                        try:
                            body = json.loads(raw) if raw else None
                        except ValueError:
                            body = None
                        status, payload = fake.handle(method, parsed.path, query, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                reset_after = limited[0] if limited else 1.0
                self.send_header("X-RateLimit-Limit", "5")
                self.send_header("X-RateLimit-Remaining", "0" if limited else "4")
                self.send_header("X-RateLimit-Reset", f"{time.time() + reset_after:.3f}")
                self.send_header("X-RateLimit-Reset-After", f"{reset_after:.3f}")
                self.send_header("X-RateLimit-Bucket", "fake-bucket")
                if limited:
                    self.send_header("Retry-After", str(int(limited[0]) + 1))
                    if limited[1]:
                        self.send_header("X-RateLimit-Global", "true")
                    self.send_header("X-RateLimit-Scope", "global" if limited[1] else "user")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_PATCH(self):
                self._serve("PATCH")

        return Handler


def main() -> None:
    """``python -m tests.fakes.discord_server [PORT]``: a fake #help forum on loopback, with
    one post, for ``make run`` (prints the settings to use); stops on Ctrl-C."""
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8099
    fake = FakeDiscord("fake-discord-token", port)
    forum = fake.add_channel("200000000000000001", forum=True, tags=("question",))
    fake.add_post(forum, "caro crashes on start every time", ASKER, "since 1.2, macOS 15")
    print(
        f"HARK_DISCORD_API_URL={fake.url} HARK_DISCORD_BOT_TOKEN={fake.token} "
        f"HARK_DISCORD_CHANNEL_IDS={forum} HARK_DISCORD_STAFF_IDS={STAFF_USER['id']}",
        flush=True,
    )
    fake._thread.start()
    try:
        fake._thread.join()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
