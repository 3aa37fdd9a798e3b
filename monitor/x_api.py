"""X (Twitter) API v2 through tweepy: the only module that imports it.

Converts tweepy's errors into this package's own (``XAuthError``, ``XRateLimited``,
``XTemporaryError``) so the poller decides what to do without knowing tweepy.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter

TWEEPY_HOST = "https://api.twitter.com"  # tweepy hard-codes it; we redirect below
TWEET_FIELDS = [
    "created_at",
    "author_id",
    "lang",
    "conversation_id",
    "referenced_tweets",
    "in_reply_to_user_id",
]
USER_FIELDS = ["username", "public_metrics"]

# tweepy logs every request's headers (the bearer token included) at DEBUG.
logging.getLogger("tweepy.client").setLevel(logging.INFO)


class XError(Exception):
    retryable = False
    retry_after_s: float | None = None


class XAuthError(XError):
    """401/403: the token is missing, wrong or lacks access."""


class XRateLimited(XError):
    retryable = True
    retry_after_s: float  # always known: when X's limit resets

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class XTemporaryError(XError):
    """5xx, a timeout or a dropped connection: worth retrying with backoff."""

    retryable = True


@dataclass
class XPage:
    tweets: list[dict[str, Any]]
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    newest_id: str | None = None
    next_token: str | None = None


class _ApiHostAdapter(HTTPAdapter):
    """Sends tweepy's requests to ``base_url`` (a proxy, staging or test server) and puts
    a timeout on every request (tweepy sets none)."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        super().__init__(max_retries=0)
        self.base_url, self.timeout_s = base_url.rstrip("/"), timeout_s

    def send(self, request, **kwargs):
        if request.url.startswith(TWEEPY_HOST):
            request.url = self.base_url + request.url[len(TWEEPY_HOST) :]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout_s
        return super().send(request, **kwargs)


class XApi:
    """The calls Hark makes, with errors converted. ``now_s`` is epoch seconds (injected)."""

    def __init__(self, bearer_token: str, api_url: str, now_s, timeout_s: float = 15.0) -> None:
        self._client = tweepy.Client(
            bearer_token=bearer_token, return_type=dict, wait_on_rate_limit=False
        )
        self._client.session.mount(TWEEPY_HOST, _ApiHostAdapter(api_url, timeout_s))
        self._now_s = now_s

    def user_id(self, username: str) -> str:
        name = username.lstrip("@")
        body = self._call(self._client.get_user, username=name)
        if "data" not in body:  # X answers 200 with a "Not Found Error" for no such user
            details = "; ".join(e.get("detail", "") for e in body.get("errors", []))
            raise XError(f"X has no user @{name} ({details}): check HARK_X_USERNAME")
        return body["data"]["id"]

    def mentions(self, user_id: str, since_id: str | None, page_token: str | None) -> XPage:
        return self._tweets(
            self._client.get_users_mentions, user_id, since_id, pagination_token=page_token
        )

    def search(self, query: str, since_id: str | None, page_token: str | None) -> XPage:
        return self._tweets(
            self._client.search_recent_tweets, query, since_id, next_token=page_token
        )

    def _tweets(self, method, subject: str, since_id: str | None, **page_token) -> XPage:
        """One page of tweets newer than ``since_id``, with their authors; the two endpoints
        name their page token differently."""
        return self._page(
            self._call(
                method,
                subject,
                since_id=since_id,
                max_results=100,
                expansions=["author_id"],
                tweet_fields=TWEET_FIELDS,
                user_fields=USER_FIELDS,
                **page_token,
            )
        )

    def _call(self, method, *args, **kwargs) -> dict[str, Any]:
        kwargs = {key: value for key, value in kwargs.items() if value is not None}
        hint = "check HARK_X_BEARER_TOKEN and the app's access level"
        return _converted(lambda: method(*args, **kwargs), hint, self._now_s)

    @staticmethod
    def _page(body: dict[str, Any]) -> XPage:
        meta = body.get("meta") or {}
        users = {user["id"]: user for user in (body.get("includes") or {}).get("users", [])}
        return XPage(body.get("data") or [], users, meta.get("newest_id"), meta.get("next_token"))


class XPoster:
    """Posts replies as the Caro account (OAuth 1.0a user context), after a person approved
    the text in the reply queue."""

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        api_url: str,
        timeout_s: float = 15.0,
    ) -> None:
        self._client = tweepy.Client(
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            return_type=dict,
            wait_on_rate_limit=False,
        )
        self._client.session.mount(TWEEPY_HOST, _ApiHostAdapter(api_url, timeout_s))

    def reply(self, text: str, in_reply_to_tweet_id: str) -> str:
        """Post ``text`` as a reply; returns the new tweet's id."""
        hint = (
            "check HARK_X_API_KEY, HARK_X_API_SECRET, HARK_X_ACCESS_TOKEN and "
            "HARK_X_ACCESS_TOKEN_SECRET"
        )
        body = _converted(
            lambda: self._client.create_tweet(
                text=text, in_reply_to_tweet_id=in_reply_to_tweet_id, user_auth=True
            ),
            hint,
            time.time,
        )
        return body["data"]["id"]


def _converted(call, auth_hint: str, now_s) -> dict[str, Any]:
    """Run a tweepy call; its errors become this package's, with what to check."""
    try:
        return call()
    except (tweepy.Unauthorized, tweepy.Forbidden) as error:
        raise XAuthError(
            f"X refused the credentials ({error.response.status_code}): {auth_hint}"
        ) from None
    except tweepy.TooManyRequests as error:
        wait = max(1.0, (error.reset_time or now_s() + 60) - now_s())
        raise XRateLimited(f"X rate limit reached; resets in {wait:.0f} s", wait) from None
    except tweepy.TwitterServerError as error:
        raise XTemporaryError(f"X answered {error.response.status_code}") from None
    except requests.RequestException as error:
        raise XTemporaryError(f"X unreachable: {type(error).__name__}") from None
    except tweepy.HTTPException as error:
        raise XError(f"X answered {error.response.status_code}: {error}") from None
