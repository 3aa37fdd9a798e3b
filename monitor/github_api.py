"""GitHub's REST API for the write-back (labels and issue comments): the only module that
talks to it. Plain ``requests``, one session per client.

Every request carries the token (``Authorization: Bearer``), a User-Agent (GitHub refuses
requests without one), ``Accept: application/vnd.github+json`` and the API version. Answers
become this module's errors, so the caller decides what to do without reading HTTP:

- ``GitHubRateLimited`` (403 or 429 that is a rate limit) says how long to wait, as GitHub's
  rate-limit guide asks: ``retry-after`` when present (a secondary limit), else until
  ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0 (the primary limit), else one
  minute. Nothing here retries: the caller reschedules, so a limit is never hammered.
- ``GitHubNotFound`` (404: no such repository or issue, or the token cannot see it; 410:
  the issue was deleted),
  ``GitHubInvalid`` (422, with GitHub's error list), ``GitHubAuthError`` (401, or a 403 that
  is not a rate limit): retrying would not help.
- ``GitHubUnavailable``: 5xx, a timeout or a dropped connection; worth retrying.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

API_VERSION = "2022-11-28"
USER_AGENT = "hark-support-desk (+https://github.com/caro)"
DEFAULT_WAIT_S = 60.0  # a rate-limit answer with neither header: at least a minute


class GitHubError(Exception):
    """An answer from GitHub the caller must act on."""

    status: int | None = None

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GitHubAuthError(GitHubError):
    """401, or a 403 that is not a rate limit: the token is wrong or lacks the permission."""


class GitHubNotFound(GitHubError):
    """404: no such repository, issue or label, or the token may not see it; 410: the
    issue was deleted."""


class GitHubInvalid(GitHubError):
    """422: GitHub refused the body (``errors`` as it listed them)."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message, 422)
        self.errors = errors

    @property
    def codes(self) -> set[str]:
        return {str(error.get("code", "")) for error in self.errors if isinstance(error, dict)}


class GitHubRateLimited(GitHubError):
    """403 or 429 for a primary or secondary rate limit: wait ``wait_s`` before any request."""

    def __init__(self, message: str, status: int, wait_s: float, secondary: bool) -> None:
        super().__init__(message, status)
        self.wait_s = wait_s
        self.secondary = secondary


class GitHubUnavailable(GitHubError):
    """5xx, a timeout or a dropped connection."""


@dataclass(frozen=True)
class PostedComment:
    id: int
    url: str


class GitHubClient:
    """Labels and comments on one GitHub (``api_url``: api.github.com, a proxy, the fake)."""

    def __init__(
        self,
        token: str,
        api_url: str = "https://api.github.com",
        *,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout_s = timeout_s
        self.clock = clock
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": USER_AGENT,
            }
        )

    def issue_labels(self, repo: str, number: int) -> list[str]:
        """The names of the labels the issue has now (an issue has at most 100)."""
        answer = self._call("GET", f"{_repo(repo)}/issues/{number}/labels?per_page=100")
        return [label["name"] for label in answer]

    def create_label(self, repo: str, name: str, color: str, description: str) -> bool:
        """Create the label in ``repo``; False if it exists already (GitHub's 422
        ``already_exists``), so creating twice is harmless."""
        body = {"name": name, "color": color, "description": description}
        try:
            self._call("POST", f"{_repo(repo)}/labels", body)
        except GitHubInvalid as error:
            if "already_exists" in error.codes:
                return False
            raise
        return True

    def add_labels(self, repo: str, number: int, names: list[str]) -> list[str]:
        """Add labels (those it has already stay once); the issue's labels after."""
        answer = self._call("POST", f"{_repo(repo)}/issues/{number}/labels", {"labels": names})
        return [label["name"] for label in answer]

    def remove_label(self, repo: str, number: int, name: str) -> None:
        """Take a label off the issue; a label it no longer has is not an error."""
        with suppress(GitHubNotFound):
            self._call("DELETE", f"{_repo(repo)}/issues/{number}/labels/{quote(name, safe='')}")

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The issue's first 100 comments: where a write-back looks for its own comment
        before posting it again (Hark comments early in an issue's life)."""
        return list(self._call("GET", f"{_repo(repo)}/issues/{number}/comments?per_page=100"))

    def comment(self, repo: str, number: int, body: str) -> PostedComment:
        answer = self._call("POST", f"{_repo(repo)}/issues/{number}/comments", {"body": body})
        return PostedComment(int(answer["id"]), str(answer.get("html_url", "")))

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.session.request(
                method, self.api_url + path, json=body, timeout=self.timeout_s
            )
        except requests.RequestException as error:
            raise GitHubUnavailable(f"{method} {path}: {type(error).__name__}") from None
        if response.status_code < 300:
            return response.json() if response.content else None
        raise self._error(method, path, response)

    def _error(self, method: str, path: str, response: requests.Response) -> GitHubError:
        status, said = response.status_code, _message(response)
        where = f"{method} {path}: {status} {said}"
        if status in (403, 429):
            limited = self._rate_limit(where, response)
            if limited is not None:
                return limited
        if status == 401 or status == 403:
            return GitHubAuthError(where, status)
        if status in (404, 410):  # 410 Gone: a deleted issue
            return GitHubNotFound(where, status)
        if status == 422:
            errors = _json(response).get("errors") or []
            return GitHubInvalid(where, errors if isinstance(errors, list) else [])
        if status >= 500:
            return GitHubUnavailable(where, status)
        return GitHubError(where, status)

    def _rate_limit(self, where: str, response: requests.Response) -> GitHubRateLimited | None:
        headers, status = response.headers, response.status_code
        retry_after = _number(headers.get("retry-after"))
        if retry_after is not None:
            return GitHubRateLimited(where, status, max(retry_after, 1.0), secondary=True)
        if headers.get("x-ratelimit-remaining") == "0":
            reset = _number(headers.get("x-ratelimit-reset"))
            wait = reset - self.clock() + 1 if reset is not None else DEFAULT_WAIT_S
            return GitHubRateLimited(where, status, max(wait, 1.0), secondary=False)
        if status == 429 or "rate limit" in _message(response).lower():
            return GitHubRateLimited(where, status, DEFAULT_WAIT_S, secondary=True)
        return None


def _repo(repo: str) -> str:
    owner, _, name = repo.partition("/")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _message(response: requests.Response) -> str:
    return str(_json(response).get("message", ""))[:200]


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
