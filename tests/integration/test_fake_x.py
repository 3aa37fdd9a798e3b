"""The fake X refuses what X refuses and shows only what was asked for, so a test passing
against it means Hark's requests would pass against X. Raw HTTP, no tweepy."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import SHARED
from tests.fakes.x_server import FakeX

TOKEN = "fake-x-contract-token"
MENTIONS = "/2/users/4242/mentions"


@pytest.fixture
def fake_x():
    server = FakeX(TOKEN, page_size=5).start()
    server.load_recording(SHARED / "x-recordings" / "get_users_mentions.json")
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
