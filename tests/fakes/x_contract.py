"""What X API v2 accepts on the read endpoints Hark calls, as its API reference states it:
each endpoint's query parameters, ``max_results`` range, id and username patterns, and the
field and expansion names. ``problems`` lists what X would refuse in a request, in X's
own wording; ``invalid_request`` wraps them in X's 400 body."""

from __future__ import annotations

import re
from dataclasses import dataclass

TWEET_FIELDS = frozenset(
    "article attachments author_id card_uri community_id context_annotations conversation_id"
    " created_at display_text_range edit_controls edit_history_tweet_ids entities geo id"
    " in_reply_to_user_id lang media_metadata non_public_metrics note_tweet organic_metrics"
    " possibly_sensitive promoted_metrics public_metrics referenced_tweets reply_settings"
    " scopes source text withheld".split()
)
USER_FIELDS = frozenset(
    "affiliation connection_status created_at description entities id location"
    " most_recent_tweet_id name pinned_tweet_id profile_banner_url profile_image_url"
    " protected public_metrics receives_your_dm subscription_type url username verified"
    " verified_type withheld".split()
)
TWEET_EXPANSIONS = frozenset(
    "article.cover_media article.media_entities attachments.media_keys"
    " attachments.media_source_tweet attachments.poll_ids author_id edit_history_tweet_ids"
    " entities.mentions.username geo.place_id in_reply_to_user_id entities.note.mentions.username"
    " referenced_tweets.id referenced_tweets.id.author_id".split()
)
DEFAULT_TWEET_FIELDS = frozenset({"id", "text", "edit_history_tweet_ids"})
DEFAULT_USER_FIELDS = frozenset({"id", "name", "username"})

_FIELDS = {
    "tweet.fields": TWEET_FIELDS,
    "user.fields": USER_FIELDS,
    "expansions": TWEET_EXPANSIONS,
    "media.fields": None,  # accepted, not checked: Hark never asks for them
    "place.fields": None,
    "poll.fields": None,
}
ID = re.compile(r"^[0-9]{1,19}$")
USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
TIMELINE = frozenset({"since_id", "until_id", "start_time", "end_time", "max_results"})


@dataclass(frozen=True)
class Endpoint:
    name: str
    parameters: frozenset[str]
    max_results: tuple[int, int] | None = None
    page_token_parameter: str = "pagination_token"
    path_parameter: tuple[str, re.Pattern] | None = None


MENTIONS = Endpoint(
    "mentions",
    frozenset(_FIELDS) | TIMELINE | {"pagination_token"},
    (5, 100),
    path_parameter=("id", ID),
)
SEARCH = Endpoint(
    "search",
    frozenset(_FIELDS) | TIMELINE | {"query", "next_token", "pagination_token", "sort_order"},
    (10, 100),
    page_token_parameter="next_token",
)
USER_BY_USERNAME = Endpoint(
    "user-by-username",
    frozenset({"expansions", "tweet.fields", "user.fields"}),
    path_parameter=("username", USERNAME),
)


def resolve(path: str) -> tuple[Endpoint, str] | None:
    """The endpoint a path names, with the value in its path (user id or username)."""
    parts = path.strip("/").split("/")
    if len(parts) == 4 and parts[:2] == ["2", "users"] and parts[3] == "mentions":
        return MENTIONS, parts[2]
    if parts == ["2", "tweets", "search", "recent"]:
        return SEARCH, ""
    if len(parts) == 5 and parts[:4] == ["2", "users", "by", "username"]:
        return USER_BY_USERNAME, parts[4]
    return None


def problems(
    endpoint: Endpoint, path_value: str, query: dict[str, str], pages: dict[str, tuple[str, int]]
) -> list[str]:
    """What X would refuse in this request (empty when it is valid)."""
    found = [
        f"The query parameter [{name}] is not one of [{','.join(sorted(endpoint.parameters))}]"
        for name in sorted(set(query) - endpoint.parameters)
    ]
    if endpoint.path_parameter:
        name, pattern = endpoint.path_parameter
        if not pattern.match(path_value):
            found.append(_not_matching(name, path_value, pattern))
    for name in ("since_id", "until_id"):
        if name in query and not ID.match(query[name]):
            found.append(_not_matching(name, query[name], ID))
    if endpoint.max_results and "max_results" in query:
        low, high = endpoint.max_results
        value = query["max_results"]
        if not (value.isdigit() and low <= int(value) <= high):
            found.append(
                f"The `max_results` query parameter value [{value}] is not between {low} and {high}"
            )
    for name, known in _FIELDS.items():
        if known is not None and name in query and name in endpoint.parameters:
            for value in query[name].split(","):
                if value not in known:
                    found.append(
                        f"The `{name}` query parameter value [{value}] is not one of "
                        f"[{','.join(sorted(known))}]"
                    )
    for name in ("pagination_token", "next_token"):
        if name in query and pages.get(query[name], ("",))[0] != endpoint.name:
            found.append(f"The `{name}` query parameter value [{query[name]}] is not valid")
    if endpoint is SEARCH and not 1 <= len(query.get("query", "")) <= 512:
        found.append("The `query` query parameter value must be between 1 and 512 characters")
    return found


def invalid_request(*messages: str) -> dict:
    """X's 400 body for a request it refuses."""
    return {
        "errors": [{"message": message} for message in messages],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def _not_matching(name: str, value: str, pattern: re.Pattern) -> str:
    return f"The `{name}` query parameter value [{value}] does not match {pattern.pattern}"
