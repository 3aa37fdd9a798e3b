"""One sanity window for every channel's timestamps (issue 14, item 11).

A message cannot have been written before 2006 (before X, GitHub or Discord existed) nor more
than a day after Hark received it. A third-party source (X, GitHub, e-mail) that claims
otherwise gets the time it was received, the claim kept in the record's raw data; the API,
whose caller can correct its request, refuses it with a message naming the field. A GitHub id
that is not a number is refused: nothing is stored under "issue-{'a': 1}".
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.mention import (
    CLAIMED_TIME_KEY,
    InvalidMessage,
    incoming_mention,
    make_mention,
    sane_time,
)
from monitor.sources.email import mention_from_email
from monitor.sources.github import PayloadError, mention_from_delivery
from monitor.sources.x import mention_from_tweet
from tests.conftest import GITHUB_FIXTURES

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
OUT_OF_WINDOW = [
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2005-12-31T23:59:59Z",
    (NOW + timedelta(days=2)).isoformat(),
]
IN_WINDOW = ["2006-01-01T00:00:00Z", "2026-11-29T11:00:00Z", (NOW + timedelta(hours=2)).isoformat()]


def _github(created_at: str) -> dict:
    payload = json.loads((GITHUB_FIXTURES / "issues.opened.json").read_text(encoding="utf-8"))
    payload["issue"]["created_at"] = created_at
    return payload


def _email(date: str) -> bytes:
    return (
        f"From: Ana <ana@example.com>\r\nSubject: crash\r\nDate: {date}\r\n"
        "Message-ID: <t1@example.com>\r\n\r\nit crashes\r\n"
    ).encode()


def _tweet(created_at: str) -> dict:
    return {
        "id": "1900000000000000001",
        "author_id": "7",
        "text": "crash",
        "created_at": created_at,
    }


@pytest.mark.parametrize("claimed", OUT_OF_WINDOW)
def test_github_and_x_times_outside_the_window_become_the_received_time(claimed):
    for mention in (
        mention_from_delivery("issues", _github(claimed), NOW),
        mention_from_tweet(_tweet(claimed), {"7": {"username": "ana"}}, NOW),
    ):
        assert mention is not None
        assert mention.created_at == NOW, mention.channel
        assert mention.raw is not None
        assert mention.raw[CLAIMED_TIME_KEY] == datetime.fromisoformat(claimed).isoformat()


@pytest.mark.parametrize(
    "date",
    [
        "Fri, 31 Dec 9999 23:59:59 +0000",
        "Mon, 01 Jan 1900 00:00:00 +0000",
        "Thu, 01 Jan 1970 00:00:00 +0000",
        "Tue, 01 Dec 2026 12:00:00 +0000",
    ],
)
def test_an_email_date_outside_the_window_becomes_the_received_time(date):
    mention = mention_from_email(_email(date), "uid-1", NOW)
    assert mention.created_at == NOW
    assert mention.raw is not None and mention.raw[CLAIMED_TIME_KEY]


@pytest.mark.parametrize("claimed", IN_WINDOW)
def test_times_inside_the_window_are_kept(claimed):
    expected = datetime.fromisoformat(claimed.replace("Z", "+00:00"))
    mention = mention_from_delivery("issues", _github(claimed), NOW)
    assert mention is not None and mention.created_at == expected
    assert CLAIMED_TIME_KEY not in (mention.raw or {})
    api = incoming_mention(
        {"channel": "discord", "id": "1", "text": "x", "created_at": claimed}, NOW
    )
    assert api.created_at == expected


@pytest.mark.parametrize("claimed", OUT_OF_WINDOW)
def test_the_api_refuses_a_time_outside_the_window_naming_the_field(claimed):
    payload = {"channel": "discord", "id": "1", "text": "x", "created_at": claimed}
    with pytest.raises(InvalidMessage, match=r"^created_at: "):
        incoming_mention(payload, NOW)


def test_the_window_is_one_function_that_never_raises():
    assert sane_time(NOW, NOW) == NOW
    assert sane_time(datetime(1, 1, 1, tzinfo=UTC), NOW) is None
    assert sane_time(datetime(9999, 12, 31, 23, 59), NOW) is None  # naive: read as UTC
    assert sane_time(datetime(2020, 1, 1), NOW) == datetime(2020, 1, 1, tzinfo=UTC)
    mention = make_mention(
        channel="discord", native_id="1", now=NOW, text="x", created_at=datetime(1, 1, 1)
    )
    assert mention.created_at == NOW


@pytest.mark.parametrize(
    "bad_id", [{"a": 1}, [1, 2], True, 1.5, "12 34", "1/../2", "", -3, {"$gt": ""}]
)
def test_a_github_id_that_is_not_a_number_is_refused(bad_id):
    for event, fixture, key in (
        ("issues", "issues.opened", "issue"),
        ("issue_comment", "issue_comment.created", "issue"),
        ("issue_comment", "issue_comment.created", "comment"),
    ):
        payload = json.loads((GITHUB_FIXTURES / f"{fixture}.json").read_text(encoding="utf-8"))
        payload = copy.deepcopy(payload)
        payload[key]["id"] = bad_id
        with pytest.raises(PayloadError, match=r"'id' must be a number"):
            mention_from_delivery(event, payload, NOW)
