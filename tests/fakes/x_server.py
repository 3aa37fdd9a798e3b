"""A local fake of the X API v2 endpoints Hark uses, enforcing the real contract.

- bearer token required (401 in X's problem shape otherwise);
- ``x-rate-limit-limit/remaining/reset`` on every response, as X sends them;
- mentions and search newest first, ``since_id``, ``max_results``, ``pagination_token`` /
  ``next_token`` and ``meta`` (newest_id, oldest_id, result_count, next_token);
- scripted faults: the next responses can be a 429 (with reset), a 401, a 5xx or a delay.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse


class FakeX:
    def __init__(self, token: str, page_size: int = 100) -> None:
        self.token, self.page_size = token, page_size
        self.mentions: list[dict] = []  # newest first, as X returns them
        self.search: list[dict] = []
        self.users: dict[str, dict] = {}
        self.faults: list[tuple[int, float]] = []  # (status, delay_s) for the next requests
        self.requests: list[str] = []
        self.posted: list[dict] = []  # tweets created through POST /2/tweets
        self.reset_epoch = int(time.time()) + 900
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

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
        body = json.loads(path.read_text())["body"]
        getattr(self, into).extend(body["data"])

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

    def _post(self, request, body: dict) -> tuple[int, dict]:
        """``POST /2/tweets``: user context only (an OAuth 1.0a signature), as X requires."""
        if self.faults:
            status, delay = self.faults.pop(0)
            time.sleep(delay)
            if status != 200:
                return status, {"title": "Fault", "status": status, "detail": "scripted fault"}
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("OAuth ") or "oauth_signature=" not in auth:
            return 403, {
                "title": "Unsupported Authentication",
                "status": 403,
                "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden",
            }
        if request.path != "/2/tweets" or not isinstance(body.get("text"), str):
            return 400, {"title": "Invalid Request", "status": 400, "detail": "text is required"}
        tweet_id = str(9_000_000_000 + len(self.posted))
        self.posted.append({"id": tweet_id, **body})
        return 201, {
            "data": {"id": tweet_id, "text": body["text"], "edit_history_tweet_ids": [tweet_id]}
        }

    def _answer(self, request) -> tuple[int, dict]:
        if self.faults:
            status, delay = self.faults.pop(0)
            time.sleep(delay)
            if status != 200:
                return status, {"title": "Fault", "status": status, "detail": "scripted fault"}
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            }
        url = urlparse(request.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        if parts[:3] == ["2", "users", "by"] and len(parts) == 5:
            user = self.users.get(parts[4])
            if not user:
                return 200, {"errors": [{"title": "Not Found Error", "detail": "no such user"}]}
            return 200, {"data": user}
        if parts[:2] == ["2", "users"] and parts[-1] == "mentions":
            return 200, self._page(self.mentions, query)
        if url.path == "/2/tweets/search/recent":
            return 200, self._page(self.search, query)
        return 404, {"title": "Not Found", "status": 404}

    def _page(self, tweets: list[dict], query: dict) -> dict:
        since = int(query.get("since_id", 0))
        fresh = [tweet for tweet in tweets if int(tweet["id"]) > since]
        start = int(query.get("pagination_token") or query.get("next_token") or 0)
        size = min(int(query.get("max_results", 10)), self.page_size)
        page = fresh[start : start + size]
        if not page:
            return {"meta": {"result_count": 0}}
        meta = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
        if start + size < len(fresh):
            meta["next_token"] = str(start + size)
        body: dict = {"data": page, "meta": meta}
        authors = {t.get("author_id") for t in page} & set(u["id"] for u in self.users.values())
        if "author_id" in query.get("expansions", "") and authors:
            body["includes"] = {"users": [u for u in self.users.values() if u["id"] in authors]}
        return body
