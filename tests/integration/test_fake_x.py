"""The fake X refuses what X refuses and shows only what was asked for, so a test passing
against it means Hark's requests would pass against X. Raw HTTP, no tweepy."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from tests.conftest import X_FIXTURES
from tests.fakes.x_contract import DEFAULT_TWEET_FIELDS, DEFAULT_USER_FIELDS, problems, resolve
from tests.fakes.x_server import FakeX

TOKEN = "fake-x-contract-token"
MENTIONS = "/2/users/4242/mentions"


@pytest.fixture
def fake_x():
    server = FakeX(TOKEN, page_size=5).start()
    server.load_recording(X_FIXTURES / "get_users_mentions.json")
    for tweet in server.mentions:
        tweet |= {"author_id": "77", "created_at": "2022-10-07T22:00:00.000Z", "lang": "en"}
    server.users["dana"] = {"id": "77", "name": "Dana", "username": "dana", "location": "Oslo"}
    yield server
    server.stop()


def get(fake_x: FakeX, path: str, **params) -> requests.Response:
    return requests.get(
        fake_x.url + path, params=params, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        (MENTIONS, {"max_results": "1000"}, "[1000] is not between 5 and 100"),
        (MENTIONS, {"count": "10"}, "The query parameter [count] is not one of"),
        (MENTIONS, {"since_id": "latest"}, "`since_id` query parameter value [latest] does not"),
        (
            MENTIONS,
            {"tweet.fields": "created_at,mood"},
            "`tweet.fields` query parameter value [mood]",
        ),
        (MENTIONS, {"expansions": "author"}, "`expansions` query parameter value [author]"),
        (MENTIONS, {"pagination_token": "10"}, "`pagination_token` query parameter value [10]"),
        ("/2/users/CaroCLI/mentions", {}, "`id` query parameter value [CaroCLI] does not match"),
        ("/2/tweets/search/recent", {"query": "caro", "max_results": "5"}, "between 10 and 100"),
        ("/2/tweets/search/recent", {}, "`query` query parameter value must be between 1 and"),
        ("/2/users/by/username/caro cli", {}, "`username` query parameter value [caro cli]"),
    ],
)
def test_what_x_refuses_is_refused_in_xs_words(fake_x, path, params, message):
    response = get(fake_x, path, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Invalid Request"
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert any(message in error["message"] for error in body["errors"]), body


def test_a_tweet_has_only_its_default_fields_unless_more_are_asked_for(fake_x):
    plain = get(fake_x, MENTIONS).json()["data"][0]
    assert set(plain) == {"id", "text", "edit_history_tweet_ids"}
    asked = get(fake_x, MENTIONS, **{"tweet.fields": "created_at,author_id"}).json()["data"][0]
    assert set(asked) == {"id", "text", "edit_history_tweet_ids", "created_at", "author_id"}


def test_authors_come_only_with_the_expansion_and_their_asked_fields(fake_x):
    assert "includes" not in get(fake_x, MENTIONS).json()
    body = get(fake_x, MENTIONS, expansions="author_id", **{"user.fields": "location"}).json()
    assert body["includes"]["users"] == [
        {"id": "77", "name": "Dana", "username": "dana", "location": "Oslo"}
    ]


def test_pages_follow_opaque_tokens_newest_first(fake_x):
    first = get(fake_x, MENTIONS).json()
    token = first["meta"]["next_token"]
    assert not token.isdigit() and token == fake_x.issued_tokens[0]
    second = get(fake_x, MENTIONS, pagination_token=token).json()
    ids = [t["id"] for t in first["data"] + second["data"]]
    assert ids == [t["id"] for t in fake_x.mentions] and "next_token" not in second["meta"]
    search_token = get(fake_x, "/2/tweets/search/recent", query="caro", next_token=token)
    assert search_token.status_code == 400  # a mentions token is not a search token


def test_an_unknown_username_is_a_not_found_error_without_data(fake_x):
    body = get(fake_x, "/2/users/by/username/NoSuchCaro").json()
    assert "data" not in body
    assert body["errors"][0]["title"] == "Not Found Error"
    assert get(fake_x, "/2/users/by/username/dana").json()["data"] == {
        "id": "77",
        "name": "Dana",
        "username": "dana",
    }


# ------------------------------------------------------------- the responses in tests/data/x


def recorded(name: str) -> dict:
    return json.loads((X_FIXTURES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "name",
    ["get_users_mentions.json", "get_users_mentions.page2.json", "search_recent_tweets.json"],
)
def test_the_recorded_responses_keep_to_xs_contract(name):
    """Written by hand, so checked: a request X accepts, and an answer with what it asked for."""
    response = recorded(name)
    url = urlparse(response["request"]["uri"])
    query = {key: values[-1] for key, values in parse_qs(url.query).items()}
    endpoint, path_value = resolve(url.path)
    issued = {recorded("get_users_mentions.json")["body"]["meta"]["next_token"]: ("mentions", 10)}
    assert problems(endpoint, path_value, query, issued) == []
    assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(
        response["headers"]
    )

    tweets, meta = response["body"]["data"], response["body"]["meta"]
    assert [int(t["id"]) for t in tweets] == sorted((int(t["id"]) for t in tweets), reverse=True)
    assert meta["result_count"] == len(tweets)
    assert (meta["newest_id"], meta["oldest_id"]) == (tweets[0]["id"], tweets[-1]["id"])
    tweet_fields = DEFAULT_TWEET_FIELDS | set(query["tweet.fields"].split(","))
    for tweet in tweets:
        assert DEFAULT_TWEET_FIELDS <= set(tweet) <= tweet_fields, tweet["id"]
        assert tweet["edit_history_tweet_ids"] == [tweet["id"]]
    users = response["body"]["includes"]["users"]
    assert {user["id"] for user in users} == {tweet["author_id"] for tweet in tweets}
    user_fields = DEFAULT_USER_FIELDS | set(query["user.fields"].split(","))
    assert all(DEFAULT_USER_FIELDS <= set(user) <= user_fields for user in users)


def test_the_second_mentions_page_is_the_older_one_its_token_asked_for():
    first, second = recorded("get_users_mentions.json"), recorded("get_users_mentions.page2.json")
    token = first["body"]["meta"]["next_token"]
    assert f"pagination_token={token}" in second["request"]["uri"]
    assert "next_token" not in second["body"]["meta"]  # the last page
    assert int(second["body"]["meta"]["newest_id"]) < int(first["body"]["meta"]["oldest_id"])
