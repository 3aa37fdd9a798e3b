"""A local fake of the X API v2 endpoints Hark uses, enforcing the real contract.

- a bearer token for reading, an OAuth 1.0a user signature for posting (401/403 in X's
  problem shape otherwise);
- ``x-rate-limit-limit/remaining/reset`` on every response, as X sends them;
- query parameters checked as X checks them (``x_contract``): an unknown parameter, a
  ``max_results`` out of the endpoint's range, an id that is not numeric, a field or
  expansion X does not know, a pagination token X never issued: 400 "Invalid Request";
- only the fields asked for: a tweet is ``id``, ``text`` and ``edit_history_tweet_ids``
  plus its ``tweet.fields``; authors come in ``includes.users`` only with
  ``expansions=author_id``, each ``id``, ``name``, ``username`` plus its ``user.fields``;
- mentions and search newest first, ``since_id``, opaque page tokens, and ``meta``
  (newest_id, oldest_id, result_count, next_token);
- an unknown username answers 200 with X's "Not Found Error" and no ``data``;
- scripted faults: the next responses can be a 429 (with reset), a 401, a 5xx or a delay.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from tests.fakes.x_contract import (
    DEFAULT_TWEET_FIELDS,
    DEFAULT_USER_FIELDS,
    Endpoint,
    invalid_request,
    problems,
    resolve,
)


class FakeX:
    def __init__(self, token: str, page_size: int = 100) -> None:
        self.token, self.page_size = token, page_size
        self.mentions: list[dict] = []  # newest first, as X returns them
        self.search: list[dict] = []
        self.users: dict[str, dict] = {}  # by username
        self.faults: list[tuple[int, float]] = []  # (status, delay_s) for the next requests
        self.requests: list[str] = []
        self.posted: list[dict] = []  # tweets created through POST /2/tweets
        self.issued_tokens: list[str] = []  # page tokens, in the order they were handed out
        self._pages: dict[str, tuple[str, int]] = {}  # token -> (endpoint, offset)
        self.reset_epoch = int(time.time()) + 900
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeX:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def load_recording(self, path: Path, into: str = "mentions") -> None:
        """Serve the tweets of a recorded response (``tests/data/x``) from ``into``, and their
        authors (its ``includes.users``) unless a user of that name is already set."""
        body = json.loads(path.read_text(encoding="utf-8"))["body"]
        getattr(self, into).extend(body["data"])
        for user in body.get("includes", {}).get("users", []):
            self.users.setdefault(user["username"], user)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                fake.requests.append(f"POST {self.path}")
                length = int(self.headers.get("content-length", 0))
                status, body = fake._post(self, json.loads(self.rfile.read(length) or b"{}"))
                self._send(status, body)

            def do_GET(self):
                fake.requests.append(self.path)
                status, body = fake._answer(self)
                self._send(status, body)

            def _send(self, status, body):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("x-rate-limit-limit", "450")
                self.send_header("x-rate-limit-remaining", "0" if status == 429 else "449")
                self.send_header("x-rate-limit-reset", str(fake.reset_epoch))
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def _fault(self) -> tuple[int, dict] | None:
        if not self.faults:
            return None
        status, delay = self.faults.pop(0)
        time.sleep(delay)
        if status == 200:
            return None
        return status, {"title": "Fault", "status": status, "detail": "scripted fault"}

    def _post(self, request, body: dict) -> tuple[int, dict]:
        """``POST /2/tweets``: user context only (an OAuth 1.0a signature), as X requires."""
        if fault := self._fault():
            return fault
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("OAuth ") or "oauth_signature=" not in auth:
            return 403, {
                "title": "Unsupported Authentication",
                "status": 403,
                "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden",
            }
        unknown = sorted(set(body) - {"text", "reply", "quote_tweet_id", "reply_settings"})
        reply = body.get("reply", {})
        if (
            request.path != "/2/tweets"
            or not isinstance(body.get("text"), str)
            or unknown
            or not isinstance(reply, dict)
            or not str(reply.get("in_reply_to_tweet_id", "0")).isdigit()
        ):
            return 400, invalid_request(f"a tweet needs text; unknown fields: {unknown}")
        tweet_id = str(9_000_000_000 + len(self.posted))
        self.posted.append({"id": tweet_id, **body})
        return 201, {
            "data": {"id": tweet_id, "text": body["text"], "edit_history_tweet_ids": [tweet_id]}
        }

    def _answer(self, request) -> tuple[int, dict]:
        if fault := self._fault():
            return fault
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            }
        url = urlparse(request.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        found = resolve(unquote(url.path))
        if found is None:
            return 404, {"title": "Not Found", "status": 404}
        endpoint, path_value = found
        errors = problems(endpoint, path_value, query, self._pages)
        if errors:
            return 400, invalid_request(*errors)
        if endpoint.name == "user-by-username":
            return 200, self._user(path_value, query)
        tweets = self.mentions if endpoint.name == "mentions" else self.search
        return 200, self._page(endpoint, tweets, query)

    def _user(self, username: str, query: dict) -> dict:
        user = self.users.get(username)
        if user is None:
            return {
                "errors": [
                    {
                        "value": username,
                        "detail": f"Could not find user with username: [{username}].",
                        "title": "Not Found Error",
                        "resource_type": "user",
                        "parameter": "username",
                        "resource_id": username,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                ]
            }
        return {"data": _shown(user, DEFAULT_USER_FIELDS, query.get("user.fields"))}

    def _page(self, endpoint: Endpoint, tweets: list[dict], query: dict) -> dict:
        since = int(query.get("since_id", 0))
        fresh = [tweet for tweet in tweets if int(tweet["id"]) > since]
        token = query.get(endpoint.page_token_parameter) or query.get("pagination_token")
        start = self._pages[token][1] if token else 0
        size = min(int(query.get("max_results", 10)), self.page_size)
        page = fresh[start : start + size]
        if not page:
            return {"meta": {"result_count": 0}}
        meta = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
        if start + size < len(fresh):
            meta["next_token"] = self._issue_token(endpoint, start + size)
        fields = query.get("tweet.fields")
        shown = [
            _shown({"edit_history_tweet_ids": [t["id"]], **t}, DEFAULT_TWEET_FIELDS, fields)
            for t in page
        ]
        body: dict = {"data": shown, "meta": meta}
        if "author_id" in query.get("expansions", "").split(","):
            authors = {t.get("author_id") for t in page}
            users = [u for u in self.users.values() if u["id"] in authors]
            if users:
                user_fields = query.get("user.fields")
                body["includes"] = {
                    "users": [_shown(u, DEFAULT_USER_FIELDS, user_fields) for u in users]
                }
        return body

    def _issue_token(self, endpoint: Endpoint, offset: int) -> str:
        token = secrets.token_hex(22)  # opaque, as X's are: a client cannot compute one
        self._pages[token] = (endpoint.name, offset)
        self.issued_tokens.append(token)
        return token


def _shown(resource: dict, defaults: frozenset[str], requested: str | None) -> dict:
    """The resource as X shows it: its default fields plus those asked for."""
    wanted = defaults | set((requested or "").split(","))
    return {key: value for key, value in resource.items() if key in wanted}
