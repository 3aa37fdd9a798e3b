"""A local fake of the parts of GitHub's REST API the write-back uses, enforcing the
documented contract (docs.github.com/rest: "Labels", "Issue comments", "Rate limits for the
REST API", "Troubleshooting": a request without a User-Agent is refused).

- Auth: ``Authorization: Bearer <token>`` or ``token <token>``; anything else is 401
  ``Bad credentials``. A request without ``User-Agent`` is 403.
- ``GET/POST /repos/{owner}/{repo}/issues/{n}/labels`` (POST takes ``{"labels": [names]}``;
  a label not in the repository is created with GitHub's default colour, as GitHub does),
  ``DELETE .../issues/{n}/labels/{name}`` (404 when the issue does not have it),
  ``POST /repos/{owner}/{repo}/labels`` (``name``, ``color`` six hex digits without "#",
  ``description``; 201, or 422 ``already_exists``, ``missing_field`` or ``invalid``),
  ``GET/POST .../issues/{n}/comments`` (a comment needs a non-empty ``body``: 422).
- 404 ``Not Found`` for an unknown repository, issue or path.
- Primary rate limit: every answer carries ``x-ratelimit-limit/-remaining/-used/-reset/
  -resource``; once ``remaining`` is 0, 403 (or ``primary_status``) with ``remaining`` 0
  until ``reset`` (epoch seconds) has passed.
- Secondary rate limit: ``secondary_limit(count, retry_after_s)`` answers the next
  ``count`` requests 403 (or 429) with ``retry-after``.
- Gone: ``remove_issue`` (a deleted issue: 410 ``This issue was deleted``), and an unknown
  repository is 404 as on GitHub.

Run standalone (``main``), the test's side is reachable over HTTP on the same port, with no
token, so a person trying Hark by hand can provoke what GitHub would do: ``POST
/_fake/exhaust?reset_in=30`` (the primary limit), ``POST
/_fake/secondary?count=2&retry_after=20&status=403`` (a secondary limit), ``POST
/_fake/delete?repo=owner/name&number=7`` (410 from then on) and ``GET
/_fake/labels?repo=owner/name`` (the repository's labels with their colours).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DOCS = "https://docs.github.com/rest"
CONTROL = "/_fake/"  # the test's side over HTTP (the standalone fake)
_COLOR = re.compile(r"[0-9a-fA-F]{6}")
_ISSUE_LABELS = re.compile(r"^/repos/([^/]+/[^/]+)/issues/([0-9]+)/labels$")
_ISSUE_LABEL = re.compile(r"^/repos/([^/]+/[^/]+)/issues/([0-9]+)/labels/([^/]+)$")
_COMMENTS = re.compile(r"^/repos/([^/]+/[^/]+)/issues/([0-9]+)/comments$")
_REPO_LABELS = re.compile(r"^/repos/([^/]+/[^/]+)/labels$")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0


@dataclass
class Issue:
    labels: list[str] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Repo:
    name: str
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case name ->
    issues: dict[int, Issue] = field(default_factory=dict)


class Answer(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class FakeGitHub:
    def __init__(
        self, token: str = "ghs_faketoken0123456789", rate_limit: int = 5000, port: int = 0
    ) -> None:
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.requests: list[RecordedRequest] = []
        self.limit, self.remaining = rate_limit, rate_limit
        self.reset_at = int(time.time()) + 3600
        self.primary_status = 403
        self._secondary: list[tuple[int, float]] = []  # (status, retry-after) per request
        self._next_id = 1000
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---------------------------------------------------------------- the test's side

    def add_issue(self, repo: str, number: int, labels: tuple[str, ...] = ()) -> None:
        with self._lock:
            stored = self.repos.setdefault(repo.lower(), Repo(repo))
            stored.issues[number] = Issue(list(labels))
            for name in labels:
                self._label(stored, name, "ededed", "")

    def labels_on(self, repo: str, number: int) -> list[str]:
        return list(self.repos[repo.lower()].issues[number].labels)

    def comments_on(self, repo: str, number: int) -> list[str]:
        return [c["body"] for c in self.repos[repo.lower()].issues[number].comments]

    def label(self, repo: str, name: str) -> dict[str, Any] | None:
        return self.repos[repo.lower()].labels.get(name.lower())

    def person_sets(self, repo: str, number: int, labels: list[str]) -> None:
        """A person edits the issue's labels on GitHub."""
        with self._lock:
            stored = self.repos[repo.lower()]
            for name in labels:
                self._label(stored, name, "ededed", "")
            stored.issues[number].labels = list(labels)

    def remove_issue(self, repo: str, number: int) -> None:
        """Someone deleted the issue: GitHub answers 410 Gone for it from then on."""
        with self._lock:
            self.repos[repo.lower()].issues[number].deleted = True

    def exhaust(self, reset_in_s: float) -> None:
        """Spend the primary limit: refused until ``reset_in_s`` from now."""
        self.remaining, self.reset_at = 0, int(time.time() + reset_in_s)

    def secondary_limit(self, count: int, retry_after_s: float, status: int = 403) -> None:
        self._secondary = [(status, retry_after_s)] * count

    def writes(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method != "GET"]

    def answered(self, status: int) -> list[RecordedRequest]:
        return [r for r in self.requests if r.status == status]

    # ------------------------------------------------------------------- the API

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        auth = headers.get("authorization", "")
        if auth not in (f"Bearer {self.token}", f"token {self.token}"):
            return Answer(401, {"message": "Bad credentials", "documentation_url": DOCS})
        if not headers.get("user-agent"):
            return Answer(403, {"message": "Request forbidden by administrative rules."})
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return Answer(400, {"message": "Problems parsing JSON"})
        with self._lock:
            limited = self._rate_limited()
            if limited is not None:
                return limited
            self.remaining -= 1
            try:
                return self._route(method, path, payload)
            except Answer as answer:
                return answer

    def _rate_limited(self) -> Answer | None:
        if self._secondary:
            status, retry_after = self._secondary.pop(0)
            message = "You have exceeded a secondary rate limit. Please wait a few minutes."
            return Answer(status, {"message": message}, {"retry-after": f"{retry_after:g}"})
        if self.remaining <= 0 and time.time() >= self.reset_at:
            self.remaining, self.reset_at = self.limit, int(time.time()) + 3600
        if self.remaining <= 0:
            message = "API rate limit exceeded for installation."
            return Answer(self.primary_status, {"message": message, "documentation_url": DOCS})
        return None

    def _route(self, method: str, path: str, payload: Any) -> Answer:
        if m := _ISSUE_LABELS.match(path):
            issue = self._issue(m[1], int(m[2]))
            if method == "GET":
                return Answer(200, self._label_list(m[1], issue))
            if method == "POST":
                return self._add_labels(m[1], issue, payload)
        if (m := _ISSUE_LABEL.match(path)) and method == "DELETE":
            issue, name = self._issue(m[1], int(m[2])), unquote(m[3])
            if name not in issue.labels:
                raise Answer(404, {"message": "Label does not exist", "documentation_url": DOCS})
            issue.labels.remove(name)
            return Answer(200, self._label_list(m[1], issue))
        if (m := _REPO_LABELS.match(path)) and method == "POST":
            return self._create_label(self._repo(m[1]), payload)
        if m := _COMMENTS.match(path):
            issue = self._issue(m[1], int(m[2]))
            if method == "GET":
                return Answer(200, issue.comments[:100])
            if method == "POST":
                return self._comment(m[1], int(m[2]), issue, payload)
        raise Answer(404, {"message": "Not Found", "documentation_url": DOCS})

    def _repo(self, name: str) -> Repo:
        repo = self.repos.get(name.lower())
        if repo is None:
            raise Answer(404, {"message": "Not Found", "documentation_url": DOCS})
        return repo

    def _issue(self, repo: str, number: int) -> Issue:
        issue = self._repo(repo).issues.get(number)
        if issue is None:
            raise Answer(404, {"message": "Not Found", "documentation_url": DOCS})
        if issue.deleted:
            raise Answer(410, {"message": "This issue was deleted", "documentation_url": DOCS})
        return issue

    def _label_list(self, repo: str, issue: Issue) -> list[dict[str, Any]]:
        labels = self._repo(repo).labels
        return [labels[name.lower()] for name in issue.labels]

    def _add_labels(self, repo: str, issue: Issue, payload: Any) -> Answer:
        names = payload.get("labels") if isinstance(payload, dict) else payload
        if not isinstance(names, list) or not all(
            isinstance(n, str) and 0 < len(n) <= 50 for n in names
        ):
            raise _invalid("Label", "labels", "invalid")
        stored = self._repo(repo)
        for name in names:
            label = self._label(stored, name, "ededed", "")
            if label["name"] not in issue.labels:
                issue.labels.append(label["name"])
        return Answer(200, self._label_list(repo, issue))

    def _create_label(self, repo: Repo, payload: Any) -> Answer:
        if not isinstance(payload, dict) or not payload.get("name"):
            raise _invalid("Label", "name", "missing_field")
        name, color = payload["name"], payload.get("color", "ededed")
        if not isinstance(name, str) or len(name) > 50:
            raise _invalid("Label", "name", "invalid")
        if not isinstance(color, str) or not _COLOR.fullmatch(color):
            raise _invalid("Label", "color", "invalid")
        if name.lower() in repo.labels:
            raise _invalid("Label", "name", "already_exists")
        label = self._label(repo, name, color, str(payload.get("description") or ""))
        return Answer(201, label)

    def _label(self, repo: Repo, name: str, color: str, description: str) -> dict[str, Any]:
        if name.lower() not in repo.labels:
            self._next_id += 1
            repo.labels[name.lower()] = {
                "id": self._next_id,
                "name": name,
                "color": color,
                "description": description,
                "default": False,
            }
        return repo.labels[name.lower()]

    def _comment(self, repo: str, number: int, issue: Issue, payload: Any) -> Answer:
        body = payload.get("body") if isinstance(payload, dict) else None
        if not isinstance(body, str) or not body.strip():
            raise _invalid("IssueComment", "body", "missing_field")
        self._next_id += 1
        comment = {
            "id": self._next_id,
            "body": body,
            "html_url": f"https://github.com/{repo}/issues/{number}#issuecomment-{self._next_id}",
            "user": {"login": "hark-bot[bot]", "type": "Bot"},
        }
        issue.comments.append(comment)
        return Answer(201, comment)

    def _control(self, what: str, query: dict[str, list[str]]) -> Answer:
        """The test's side over HTTP (``CONTROL`` paths), for the standalone fake."""

        def arg(name: str, default: str) -> str:
            return query.get(name, [default])[0]

        try:
            if what == "exhaust":
                self.exhaust(float(arg("reset_in", "60")))
            elif what == "secondary":
                count, wait = int(arg("count", "1")), float(arg("retry_after", "60"))
                self.secondary_limit(count, wait, int(arg("status", "403")))
            elif what == "delete":
                self.remove_issue(arg("repo", ""), int(arg("number", "0")))
            elif what == "labels":
                return Answer(200, list(self.repos[arg("repo", "").lower()].labels.values()))
            else:
                return Answer(404, {"message": f"no control {what!r}"})
        except (KeyError, ValueError) as error:
            return Answer(400, {"message": f"{what}: {error}"})
        return Answer(200, {"ok": what})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                path = parts.path
                headers = {k.lower(): v for k, v in self.headers.items()}
                record = RecordedRequest(self.command, self.path, headers, body)
                if path.startswith(CONTROL):
                    answer = fake._control(path.removeprefix(CONTROL), parse_qs(parts.query))
                else:
                    answer = fake._handle(self.command, path, headers, body)
                record.status = answer.status
                fake.requests.append(record)
                data = json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-ratelimit-limit", str(fake.limit))
                self.send_header("x-ratelimit-remaining", str(max(fake.remaining, 0)))
                self.send_header("x-ratelimit-used", str(fake.limit - max(fake.remaining, 0)))
                self.send_header("x-ratelimit-reset", str(fake.reset_at))
                self.send_header("x-ratelimit-resource", "core")
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PATCH = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _invalid(resource: str, field_name: str, code: str) -> Answer:
    return Answer(
        422,
        {
            "message": "Validation Failed",
            "errors": [{"resource": resource, "field": field_name, "code": code}],
            "documentation_url": DOCS,
        },
    )


def main() -> None:
    """``python -m tests.fakes.github_server [PORT]``: a fake GitHub on loopback for ``make
    run``, with wildcard/caro's issues 1-1000 (tests/data/github's deliveries are #318, the
    launch-day sample links to others); prints the settings to use; stops on Ctrl-C."""
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8098
    fake = FakeGitHub(port=port)
    for number in range(1, 1001):
        fake.add_issue("wildcard/caro", number)
    print(
        f"HARK_GITHUB_API_URL={fake.url} HARK_GITHUB_TOKEN={fake.token} "
        "HARK_GITHUB_REPOS=wildcard/caro",
        flush=True,
    )
    fake._thread.start()
    try:
        fake._thread.join()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
