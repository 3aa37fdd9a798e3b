"""Paging parameters out of range are a 400 in the JSON error shape, never a 500 (issue 14,
item 6), and the incident log says which of its filters it could not use (item 15)."""

from __future__ import annotations

import fakeredis
import pytest

from web import create_app
from web.errors import ApiError
from web.query_params import MAX_OFFSET, page_limit, page_offset, score_cursor
from web.users import load_users

AUTH = {"Authorization": "Bearer t"}
LISTS = ("/api/mentions", "/api/incidents")
BAD_LIMITS = [
    "99999999999999999999",
    "-1",
    "0",
    "201",
    "",
    " 7",
    "7 ",
    "+7",
    "1e3",
    "1_0",
    "\u0663",  # an Arabic-Indic 3: int() takes it, the API does not
    "seven",
    "7.0",
]
BAD_CURSORS = [
    "nan:x",
    "inf:x",
    "-inf:x",
    "1e999:x",
    "99999999999999999999",  # no id: not a cursor any page wrote
    "x:y",
    "\u0661:x",
    "1:" + "x" * 600,
]


@pytest.fixture
def app(write_users):
    users_file = write_users({"vic": ("viewer", "viewer-pass")})
    return create_app(
        redis=fakeredis.FakeRedis(),
        api_token="t",
        secret_key="k" * 40,
        users=load_users(users_file),
        insecure_cookies=True,
        team_timezone="Asia/Tokyo",  # east of UTC: the first day of the calendar overflows
    )


@pytest.fixture
def viewer(app, log_in):
    client = app.test_client()
    assert log_in(client, "vic", "viewer-pass").status_code == 303
    return client


def _refused(response, name: str) -> None:
    assert response.status_code == 400, response.get_data()[:300]
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameter" and error["message"].startswith(name)


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", BAD_LIMITS)
def test_a_limit_out_of_range_is_a_400(app, path, limit):
    _refused(app.test_client().get(path, query_string={"limit": limit}, headers=AUTH), "limit")


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_cursor_no_page_wrote_is_a_400(app, path, cursor):
    response = app.test_client().get(path, query_string={"cursor": cursor}, headers=AUTH)
    _refused(response, "cursor")


@pytest.mark.parametrize("path", LISTS)
def test_the_edges_of_the_range_are_accepted(app, path):
    client = app.test_client()
    for query in ({"limit": "1"}, {"limit": "200"}, {"cursor": "1768557840.0:x:1"}, {}):
        response = client.get(path, query_string=query, headers=AUTH)
        assert response.status_code == 200, (query, response.get_data()[:300])


def test_an_offset_cursor_is_checked_before_redis_sees_it():
    """What ``/api/queue`` needs: Redis refused 99999999999999999999 with a 500."""
    for text in ("99999999999999999999", "-1", str(MAX_OFFSET + 1), "1e3", "\u0663"):
        with pytest.raises(ApiError) as refused:
            page_offset({"cursor": text})
        assert refused.value.status == 400 and refused.value.message.startswith("cursor")
    assert page_offset({}) == 0 and page_offset({"cursor": str(MAX_OFFSET)}) == MAX_OFFSET
    assert page_limit({}, 100, 200) == 100 and page_limit({"limit": "200"}, 100, 200) == 200
    assert score_cursor({}) is None and score_cursor({"cursor": "1.5:x:1"}) == "1.5:x:1"


@pytest.mark.parametrize(
    "query",
    ["from=0001-01-01", "from=0001-01-01&to=0001-01-01", "to=0001-01-01", "to=9999-12-31"],
)
def test_the_incident_log_takes_any_day_of_the_calendar(viewer, query):
    page = viewer.get(f"/incidents?{query}")
    assert page.status_code == 200 and "<h1>Incidents</h1>" in page.text


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("priority=P9", "priority P9"),
        ("status=zzz", "status zzz"),
        ("channel=fax", "channel fax"),
        ("from=yesterday", "from yesterday"),
        ("to=2026-02-30", "to 2026-02-30"),
        ("cursor=nan:0", "cursor"),
    ],
)
def test_the_incident_log_says_which_filter_it_ignored(viewer, query, said):
    page = viewer.get(f"/incidents?{query}")
    assert page.status_code == 200
    assert "Warning:" in page.text and said in page.text and "not used" in page.text.lower()


def test_good_filters_bring_no_warning(viewer):
    page = viewer.get("/incidents?priority=P0&status=triggered&channel=x&from=2026-01-01")
    assert page.status_code == 200 and "Warning:" not in page.text, page.text[-900:]


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "99999999999999999999"},
        {"cursor": "-1"},
        {"cursor": "1e3"},
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "99999999999999999999"},
        {"limit": "\u0663"},
    ],
)
def test_the_queue_api_refuses_a_page_out_of_range(app, query):
    response = app.test_client().get("/api/queue", query_string=query, headers=AUTH)
    assert response.status_code == 400, response.get_data()[:300]
    assert response.get_json()["error"]["code"] == "invalid_parameter"
