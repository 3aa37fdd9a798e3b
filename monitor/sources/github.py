"""GitHub webhook deliveries (``issues``, ``issue_comment``) as Mentions; pure code."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from monitor.mention import Mention, make_mention

ISSUE_ACTIONS = {"opened", "edited", "reopened"}
COMMENT_ACTIONS = {"created"}
_NUMBER = re.compile(r"[0-9]+")


class PayloadError(ValueError):
    """A delivery that does not have the shape GitHub documents."""


def mention_from_delivery(event: str, payload: dict[str, Any], now: datetime) -> Mention | None:
    """The Mention a delivery carries, or None for events and actions Hark ignores.

    Raises ``PayloadError`` naming the field when the delivery is not shaped as GitHub
    documents it, or carries a value no Mention takes (an id too long, say)."""
    action = payload.get("action", "")
    if not isinstance(action, str):
        raise PayloadError("'action' must be a string")
    try:
        return _mention(event, action, payload, now)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise PayloadError(f"{field}: {first['msg']}") from None


def _mention(event: str, action: str, payload: dict[str, Any], now: datetime) -> Mention | None:
    if event == "issues" and action in ISSUE_ACTIONS:
        issue = _object(payload, "issue")
        return _issue_mention(issue, payload, now, action)
    if event == "issue_comment" and action in COMMENT_ACTIONS:
        issue, comment = _object(payload, "issue"), _object(payload, "comment")
        return make_mention(
            channel="github",
            native_id=f"comment-{_id(comment)}",
            now=now,
            author=_login(comment),
            text=comment.get("body") or "",
            url=comment.get("html_url"),
            created_at=_time(comment, "created_at", now),
            thread_id=f"issue-{_id(issue)}",
            reply_to=mention_native_issue(issue),
            raw=payload,
        )
    return None


def mention_native_issue(issue: dict[str, Any]) -> str:
    return f"github:issue-{_id(issue)}"


def _issue_mention(issue: dict, payload: dict, now: datetime, action: str) -> Mention:
    title, body = issue.get("title") or "", issue.get("body") or ""
    native_id = f"issue-{_id(issue)}"
    if action == "edited":  # an edit is a new version of the text, triaged again
        native_id += f"-edit-{_time(issue, 'updated_at', now).timestamp():.0f}"
    return make_mention(
        channel="github",
        native_id=native_id,
        now=now,
        author=_login(issue),
        text=f"{title}\n\n{body}".strip(),
        url=issue.get("html_url"),
        created_at=_time(issue, "created_at", now),
        thread_id=f"issue-{_id(issue)}",
        raw=payload,
    )


def _object(payload: dict, key: str) -> dict:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise PayloadError(f"'{key}' must be an object")
    return value


def _field(obj: dict, key: str) -> Any:
    if obj.get(key) is None:
        raise PayloadError(f"'{key}' is missing")
    return obj[key]


def _id(obj: dict) -> str:
    """An issue's or comment's id: GitHub's are numbers. Anything else (an object, a list,
    a path) would become part of a stored key and a URL, so it is refused."""
    value = _field(obj, "id")
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not _NUMBER.fullmatch(str(value))
    ):
        raise PayloadError(f"'id' must be a number, not {type(value).__name__} {_shown(value)}")
    return str(value)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _login(obj: dict) -> str:
    user = obj.get("user")
    return str(user.get("login", "")) if isinstance(user, dict) else ""


def _time(obj: dict, key: str, default: datetime) -> datetime:
    value = obj.get(key)
    if not isinstance(value, str):
        return default
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"'{key}' is not an ISO 8601 time") from None
