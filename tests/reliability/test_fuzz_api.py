"""Bad input for the JSON API, ``POST /api/mentions`` and ``GET /api/mentions``
(hypothesis), against a real Redis.

Whatever arrives (any JSON value, wrong types per field, huge and unpaired-surrogate
strings, null bytes, bytes that are not UTF-8, wrong content types, missing or bad tokens,
oversized bodies, any query string), the app answers without a 5xx: an error is the one
JSON shape of ``web.errors`` with a message that says what is wrong, and a refused request
or any listing leaves Redis exactly as it was (every key compared with DUMP). An accepted
mention is queued for triage in full, and the job triaging it does so cleanly. Wrong
methods and unknown paths answer in the same error shape.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
import redis
from hypothesis import event, example, given
from hypothesis import strategies as st
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from werkzeug.security import generate_password_hash

from desk.mentions import MentionStore
from desk.records import StoredMention
from hark.rulebook_files import shipped_rulebook_path
from hark.wiring import worker_services
from hark.worker import run_worker
from monitor.mention import Mention
from rules.result import TriageRecord
from rules.schema import LEVELS
from services.intake import SEEN_KEY, TRIAGE_QUEUE, triage_job_id
from services.jobs import P0_TRIAGE_QUEUE, PAGING_QUEUE
from tests.reliability.fuzz_support import (
    AUTH,
    CHANNELS,
    MESSAGE_FIELDS,
    NOW,
    TOKEN,
    Snapshot,
    assert_not_a_crash,
    assert_unchanged,
    build_app,
    changed_keys,
    dumps,
    edgy_text,
    error_of,
    fuzz,
    header_text,
    json_values,
    mostly,
    note_outcome,
    query_text,
    seed_incident,
    snapshot,
)
from web import MAX_BODY_BYTES, create_app
from web.users import load_users


@pytest.fixture
def client(redis_conn):
    return build_app(redis_conn).test_client()


# ------------------------------------------------------------------------------ strategies


odd_times = st.sampled_from(
    [
        "2026-01-16T10:00:00Z",
        "2026-01-16T10:00:00",  # naive: taken as UTC
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1970-01-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "yesterday",
        "",
    ]
) | st.datetimes(timezones=st.none() | st.timezones()).map(datetime.isoformat)
valid_fields: dict[str, st.SearchStrategy] = {
    "channel": st.sampled_from(CHANNELS),
    "id": st.from_regex(r"\A[A-Za-z0-9_.:#-]{1,40}\Z"),
    "text": st.text(st.characters(exclude_categories=["Cs"]), max_size=200)
    | st.sampled_from(["caro segfaults on launch", "rm -rf / was not blocked", "x" * 100_000]),
    "author": st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    "url": st.none() | st.just("https://github.com/caro/caro/issues/1") | st.text(max_size=40),
    "created_at": st.none() | odd_times | st.integers(-(2**40), 2**40),
    "thread_id": st.none() | st.text(max_size=20),
    "reply_to": st.none() | st.text(max_size=20),
    "language": st.none() | st.sampled_from(["en", "es", "pt-BR", "zh-Hans", ""]),
    "author_reach": st.none() | st.integers(0, 2**70),
}
wrong_values = json_values | st.sampled_from(
    ["", " ", "a b", "x" * 201, "x" * 2001, "\ud800", "a\x00b", 1.5, -1, True, [], {}]
)


@st.composite
def messages(draw, broken: bool = True) -> dict[str, Any]:
    """An ingest body: each documented field valid, wrong or missing (when ``broken``),
    and perhaps keys the shape does not have."""
    message = {}
    for field, valid in valid_fields.items():
        required = field in ("channel", "id", "text")
        choices = (
            ["valid", "valid", "valid", "wrong", "missing"] if broken else ["valid", "missing"]
        )
        how = draw(st.sampled_from(["valid"] if required and not broken else choices))
        if how == "valid":
            message[field] = draw(valid)
        elif how == "wrong":
            message[field] = draw(wrong_values)
    if broken:
        message.update(draw(st.dictionaries(edgy_text, json_values, max_size=2)))
    return message


json_bodies = st.one_of(
    messages().map(dumps),
    json_values.map(dumps),
    # the same, as raw UTF-8 with surrogates encoded as such: bytes that are not UTF-8
    messages().map(lambda m: json.dumps(m, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    messages().map(lambda m: json.dumps(m).encode("utf-16")),
    messages().map(lambda m: b"\xef\xbb\xbf" + dumps(m)),  # a byte-order mark
    # cut short
    messages().map(dumps).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),
    st.binary(max_size=200),
    # nested deeper than any parser recurses
    st.sampled_from([50, 5_000, 200_000]).map(lambda n: b"[" * n + b"]" * n),
    st.sampled_from([50, 5_000, 200_000]).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/vnd.github+json",
        "APPLICATION/JSON",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/jsonx",
        "",
        None,
    ]
)
bad_auth = st.sampled_from(
    [
        {},
        {"Authorization": ""},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer  {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": "Bearer"},
        {"X-Api-Token": TOKEN},
    ]
) | header_text.map(lambda token: {"Authorization": f"Bearer {token}"})
good_auth = st.sampled_from([AUTH, {"Authorization": f"bearer {TOKEN}"}])


# ------------------------------------------------------------------------ POST /api/mentions


def _post_mention(client, body: bytes, content_type: str | None, auth: dict):
    headers = dict(auth)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.post("/api/mentions", data=body, headers=headers)


def _parsed(body: bytes, content_type: str | None) -> tuple[bool, Any]:
    """What Flask would read from the body: (is it JSON, the value)."""
    mimetype = (content_type or "").split(";")[0].strip().lower()
    if not (
        mimetype == "application/json"
        or (mimetype.startswith("application/") and mimetype.endswith("+json"))
    ):
        return False, None
    try:
        return True, json.loads(body)
    except (ValueError, RecursionError):
        return False, None


TRIAGE_LANES = (P0_TRIAGE_QUEUE, TRIAGE_QUEUE)  # a P0 takes the fast lane


def assert_ingested(connection, before: Snapshot, response, message: dict) -> None:
    """A 202: the mention is queued whole, or it had been seen and nothing changed."""
    answer = response.get_json()
    mention_id = f"{message['channel']}:{message['id']}"
    assert answer == {"id": mention_id, "enqueued": answer["enqueued"]}
    seen = SEEN_KEY.format(id=mention_id).encode()
    job_id = triage_job_id(mention_id)
    if not answer["enqueued"]:
        assert seen in before, "not enqueued, yet never seen before"
        assert_unchanged(before, connection, "a duplicate ingest")
        return
    assert seen not in before
    changed = changed_keys(before, snapshot(connection))
    lanes = {f"rq:queue:{name}".encode() for name in TRIAGE_LANES}
    assert changed <= {seen, f"rq:job:{job_id}".encode(), b"rq:queues"} | lanes
    job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
    assert job.func_name == "services.triage.triage_mention" and job.origin in TRIAGE_LANES
    assert job_id in Queue(job.origin, connection=connection).job_ids
    (queued,) = job.args
    mention = Mention.model_validate(queued)  # whole: it is a valid Mention again
    assert (mention.id, mention.channel, mention.native_id) == (
        mention_id,
        message["channel"],
        message["id"],
    )
    assert mention.text == message["text"] and mention.raw == message
    assert mention.author == message.get("author", "")
    assert mention.received_at == NOW


@fuzz(250)
@given(body=json_bodies, content_type=content_types, auth=mostly(good_auth, bad_auth, 2))
def test_ingest_answers_any_body_without_a_crash(client, redis_conn, body, content_type, auth):
    before = snapshot(redis_conn)
    response = _post_mention(client, body, content_type, auth)
    assert_not_a_crash(response)
    event(f"status {response.status_code}")
    if auth.get("Authorization", "").lower() != f"bearer {TOKEN}".lower():
        code, message = error_of(response, 401)
        assert code == "unauthorized" and "Authorization: Bearer" in message
        assert_unchanged(before, redis_conn, "a request without the token")
        return
    is_json, value = _parsed(body, content_type)
    if response.status_code == 202:
        assert is_json and isinstance(value, dict)
        assert_ingested(redis_conn, before, response, value)
        return
    code, message = error_of(response, 400, 422)
    assert_unchanged(before, redis_conn, f"a refused ingest ({message})")
    if response.status_code == 400:
        assert code == "invalid_json" and "JSON" in message
        assert not (is_json and isinstance(value, dict)), "a JSON object refused as not JSON"
        return
    assert code == "invalid_field"
    assert is_json, "422 for a body that is not JSON"
    if not isinstance(value, dict):
        assert message.startswith("body: ")
        return
    # "<field>: <what is wrong>", the field being one of the shape's or one sent
    keys = [*MESSAGE_FIELDS, *value, *map(repr, value)]
    named = [key for key in keys if message.startswith(f"{key}: ")]
    assert named, f"the message names no field: {message!r}"


@fuzz(60)
@given(message=messages(broken=False))
def test_valid_messages_with_odd_values_are_accepted_whole(client, redis_conn, message):
    before = snapshot(redis_conn)
    response = client.post("/api/mentions", json=message, headers=AUTH)
    assert_not_a_crash(response)
    event(f"status {response.status_code}")
    if response.status_code == 422:  # the documented limits (formats, sizes) still hold
        code, text = error_of(response, 422)
        assert code == "invalid_field" and text.split(":")[0] in MESSAGE_FIELDS
        assert_unchanged(before, redis_conn, "a refused ingest")
        return
    assert response.status_code == 202, response.get_json()
    assert_ingested(redis_conn, before, response, message)


def test_accepted_odd_mentions_are_triaged_and_listed_whole(client, redis_conn):
    """What the API accepts, the triage job can triage: nothing it let in fails later."""
    accepted: dict[str, dict] = {}

    @fuzz(40)
    @given(message=messages(broken=False))
    def ingest(message):
        response = client.post("/api/mentions", json=message, headers=AUTH)
        assert response.status_code in (202, 422), response.get_data()[:300]
        if response.status_code == 202 and response.get_json()["enqueued"]:
            accepted[response.get_json()["id"]] = message

    ingest()
    assert accepted
    run_worker(worker_services(redis_conn, shipped_rulebook_path()), burst=True)
    for name in (*TRIAGE_LANES, PAGING_QUEUE):
        failed = FailedJobRegistry(name, connection=redis_conn, serializer=JSONSerializer)
        assert failed.count == 0, f"a {name} job failed on what the API accepted"
    store = MentionStore(redis_conn)
    for mention_id, message in accepted.items():
        record = store.get(mention_id)
        assert record is not None, f"{mention_id} was accepted but never stored"
        assert record.text == message["text"] and record.raw == message
        assert record.triage.priority in LEVELS
    listed, cursor = [], None
    while True:
        query = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/mentions", query_string=query, headers=AUTH)
        assert page.status_code == 200, page.get_data()[:300]
        listed += [item["id"] for item in page.get_json()["items"]]
        if not (cursor := page.get_json()["next"]):
            break
    assert sorted(listed) == sorted(accepted)


@fuzz(6)
@given(
    size=st.integers(MAX_BODY_BYTES - 8, MAX_BODY_BYTES + 8) | st.just(3 * MAX_BODY_BYTES),
    auth=st.booleans(),
)
def test_oversized_bodies_are_refused_at_the_limit(client, redis_conn, size, auth):
    message = dumps({"channel": "discord", "id": f"big-{size}", "text": "caro is slow"})
    body = message + b" " * (size - len(message))  # trailing spaces: still that JSON
    before = snapshot(redis_conn)
    headers = AUTH if auth else {}
    response = _post_mention(client, body, "application/json", headers)
    if not auth:
        error_of(response, 401)
    elif size <= MAX_BODY_BYTES:
        assert response.status_code == 202, response.get_data()[:300]
        return
    else:
        code, _ = error_of(response, 413)
        assert code == "request_entity_too_large"
    assert_unchanged(before, redis_conn, "an oversized body")


# ------------------------------------------------------------------------- GET /api/mentions


def _seed_mentions(connection: redis.Redis) -> None:
    store = MentionStore(connection)
    for n, (channel, level) in enumerate(
        [("x", "P0"), ("github", "P1"), ("discord", "P2"), ("email", "P3"), ("x", "P3")]
    ):
        mention = Mention(
            id=f"{channel}:{n}",
            channel=channel,
            native_id=str(n),
            text=f"message {n}",
            created_at=datetime(2026, 1, 16, 10, n, tzinfo=UTC),
            received_at=NOW,
        ).model_dump(mode="json")
        triage = TriageRecord(
            priority=level,
            category="other",
            kind="other",
            score=1.0,
            pages=level == "P0",
            scores={level: 1.0},
            rules=(),
        )
        stored = StoredMention.triaged(mention, triage, NOW)
        store.save(stored.model_copy(update={"status": "new" if n % 2 else "replied"}))


query_values = query_text | st.sampled_from(
    [
        "",
        "0",
        "1",
        "200",
        "201",
        "-1",
        " 7 ",
        "1e3",
        "٣",
        "1_0",
        "nan",
        "nan:x:0",
        "NaN:x",
        "inf:x:0",
        "-inf:x:0",
        "1e999:x",
        "1768557840.0:x:4",
        ":",
        "P0",
        "x",
        "new",
    ]
)
queries = st.dictionaries(
    st.sampled_from(["limit", "cursor", "priority", "channel", "status"]) | query_text,
    query_values,
    max_size=5,
)


def _check_listing(client, connection, query, before: Snapshot) -> None:
    response = client.get("/api/mentions", query_string=query, headers=AUTH)
    assert_not_a_crash(response)
    note_outcome(response)
    assert_unchanged(before, connection, "a GET")
    if response.status_code == 400:
        code, message = error_of(response, 400)
        assert code == "invalid_parameter"
        named = ("limit", "cursor", "priority", "channel", "status")  # an unknown filter too
        assert any(message.startswith(name) for name in named), message
        return
    assert response.status_code == 200
    page = response.get_json()
    assert sorted(page) == ["items", "next"] and isinstance(page["items"], list)
    assert page["next"] is None or isinstance(page["next"], str)
    arguments = query if isinstance(query, dict) else {}
    try:
        limit = int(arguments.get("limit", 50))
    except ValueError:
        limit = 50
    assert len(page["items"]) <= limit
    for item in page["items"]:
        assert "raw" not in item and {"id", "channel", "text", "triage"} <= set(item)
        if arguments.get("priority"):
            assert item["triage"]["priority"] == arguments["priority"]
        if arguments.get("channel"):
            assert item["channel"] == arguments["channel"]
    if page["next"]:  # a cursor the API handed out is always accepted
        follow = client.get(
            "/api/mentions", query_string={**arguments, "cursor": page["next"]}, headers=AUTH
        )
        assert follow.status_code == 200, follow.get_data()[:300]


@fuzz(150)
@given(query=queries | st.binary(max_size=60).map(lambda raw: raw.decode("latin-1")))
def test_listing_answers_any_query_and_writes_nothing(client, redis_conn, query):
    if not redis_conn.exists("hark:mentions:by-time"):
        _seed_mentions(redis_conn)
    _check_listing(client, redis_conn, query, snapshot(redis_conn))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/mentions"),
        ("DELETE", "/api/mentions"),
        ("GET", "/webhooks/github"),
        ("PATCH", "/webhooks/pagerduty"),
        ("POST", "/api/mentions/x:1"),
        ("GET", "/api/%ff%fe"),
    ],
)
def test_wrong_methods_and_paths_answer_in_the_error_shape(client, redis_conn, method, path):
    before = snapshot(redis_conn)
    code, _ = error_of(client.open(path, method=method, headers=AUTH), 404, 405)
    assert code in ("not_found", "method_not_allowed")
    assert_unchanged(before, redis_conn, f"{method} {path}")


# ---------------------------------------------- paging on every list endpoint and the log


# Huge, negative, non-numeric and non-ASCII: what Python's int() and float() take and Redis
# does not (a 20-digit cursor was a 500 on /api/queue), and cursors of every shape.
paging_values = (
    query_text
    | st.integers(-(2**80), 2**80).map(str)
    | st.floats().map(repr)
    | st.sampled_from(["99999999999999999999", "-1", "1_0", "\u0663", "\uff11", "1e999", " 1"])
)
cursors = paging_values | st.tuples(paging_values, query_text).map(":".join)
LIST_ENDPOINTS = ("/api/mentions", "/api/incidents")


@fuzz(200)
@given(
    path=st.sampled_from(LIST_ENDPOINTS),
    limit=st.none() | paging_values,
    cursor=st.none() | cursors,
)
def test_every_list_endpoint_answers_any_paging_without_a_5xx(
    client, redis_conn, shipped, path, limit, cursor
):
    if not redis_conn.exists("hark:mentions:by-time"):
        _seed_mentions(redis_conn)
        for n in range(3):
            seed_incident(redis_conn, shipped, n)
    query = {name: value for name, value in (("limit", limit), ("cursor", cursor)) if value}
    response = client.get(path, query_string=query, headers=AUTH)
    assert_not_a_crash(response)
    note_outcome(response)
    if response.status_code != 200:
        code, message = error_of(response, 400)
        assert code == "invalid_parameter" and message.startswith(("limit", "cursor")), message
        return
    page = response.get_json()
    assert len(page["items"]) <= int(query.get("limit", 50))
    if page["next"]:  # a cursor the API handed out is always accepted
        follow = client.get(path, query_string={**query, "cursor": page["next"]}, headers=AUTH)
        assert follow.status_code == 200, follow.get_data()[:300]


@pytest.fixture
def viewer(redis_conn, tmp_path):
    """A browser signed in, through the login form, to the pages of the app under test."""
    password = "viewer-password"
    hashed = generate_password_hash(password, method="pbkdf2:sha256:1000")
    users_file = tmp_path / "users.yaml"
    users_file.write_text(
        f'users:\n  - name: vic\n    role: viewer\n    password_hash: "{hashed}"\n',
        encoding="utf-8",
    )
    app = create_app(
        redis=redis_conn,
        secret_key="fuzz-pages-secret-key-0123456789abcdef",
        users=load_users(users_file),
        insecure_cookies=True,
        clock=lambda: NOW,
        team_timezone="Asia/Tokyo",  # east of UTC even in year 1: the first day overflowed
    )
    browser = app.test_client()
    form = browser.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    signed_in = browser.post(
        "/login", data={"name": "vic", "password": password, "csrf_token": token}
    )
    assert signed_in.status_code == 303
    return browser


page_filters = st.dictionaries(
    st.sampled_from(["status", "priority", "channel", "from", "to", "cursor"]),
    paging_values
    | cursors
    | st.sampled_from(["P0", "P9", "triggered", "x", "0001-01-01", "9999-12-31", "2026-01-16"])
    | st.dates().map(date.isoformat),
    max_size=6,
)


@fuzz(150)
@given(query=page_filters)
@example(query={"from": "0001-01-01"})  # was a 500 east of UTC
@example(query={"priority": "P9", "cursor": "99999999999999999999:99999999999999999999"})
def test_the_incident_log_answers_any_filter_without_a_5xx(viewer, redis_conn, shipped, query):
    if not redis_conn.exists("hark:incidents:by-time"):
        for n in range(3):
            seed_incident(redis_conn, shipped, n)
    response = viewer.get("/incidents", query_string=query)
    assert response.status_code == 200, response.get_data()[:300]
    assert response.mimetype == "text/html" and "<h1>Incidents</h1>" in response.text
