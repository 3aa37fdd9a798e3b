"""Bad input for the JSON API and the webhooks (hypothesis), against a real Redis.

Whatever arrives (any JSON value, wrong types per field, huge and unpaired-surrogate
strings, null bytes, bytes that are not UTF-8, wrong content types, missing or bad
credentials, oversized bodies), the app answers without a 5xx: an error is the one JSON
shape of ``web.errors`` with a message that says what is wrong, and a refused request
leaves Redis exactly as it was (every key compared with DUMP). An accepted request leaves a
whole record: the mention queued for triage in full, and the job triaging it cleanly.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from hark.rulebook_files import shipped_rulebook_path
from hark.worker import run_worker
from monitor.intake import SEEN_KEY, TRIAGE_JOB, TRIAGE_QUEUE, triage_job_id
from monitor.mention import MAX_TEXT_CHARS, IncomingMessage, Mention
from oncall.incidents import IncidentStore
from oncall.paging import PAGING_QUEUE
from oncall.store import MentionStore
from rules.schema import LEVELS
from tests.conftest import SHARED
from web import MAX_BODY_BYTES, create_app
from web.webhooks import DELIVERY_KEY, DELIVERY_TTL_S, PD_EVENT_KEY

NOW = datetime(2026, 1, 16, 15, 0, tzinfo=UTC)
TOKEN = "fuzz-api-token-0123456789"
GH_SECRET = "fuzz-github-webhook-secret"
PD_SECRET = "fuzz-pagerduty-webhook-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DELIVERIES = SHARED / "github-webhooks"
CHANNELS = ["x", "github", "discord", "email"]
MESSAGE_FIELDS = list(IncomingMessage.model_fields)

# Fixtures are per test, examples share them: every example compares Redis before and after.
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples)


def build_app(connection: redis.Redis):
    return create_app(
        redis=connection,
        api_token=TOKEN,
        github_webhook_secret=GH_SECRET,
        pagerduty_webhook_secret=PD_SECRET,
        clock=lambda: NOW,
    )


@pytest.fixture
def client(redis_conn):
    return build_app(redis_conn).test_client()


# ------------------------------------------------------------------------ what is checked


Snapshot = dict[bytes, tuple[bytes, bool]]


def snapshot(connection: redis.Redis) -> Snapshot:
    """Every key with its DUMP (type and value, byte for byte) and whether it expires."""
    keys = sorted(connection.scan_iter(count=1000))
    with connection.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.dump(key)
            pipe.pttl(key)
        values = pipe.execute()
    return {key: (values[2 * n], values[2 * n + 1] >= 0) for n, key in enumerate(keys)}


def changed_keys(before: Snapshot, after: Snapshot) -> set[bytes]:
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def assert_unchanged(before: Snapshot, connection: redis.Redis, what: str) -> None:
    changed = changed_keys(before, snapshot(connection))
    assert not changed, f"{what} changed Redis: {sorted(changed)[:10]}"


def assert_not_a_crash(response) -> None:
    """No 5xx, and JSON whatever the outcome."""
    assert response.status_code < 500, (
        f"{response.status_code}: {response.get_data()[:300]!r} (see the server log)"
    )
    assert response.mimetype == "application/json", (
        f"{response.status_code} as {response.content_type}: {response.get_data()[:200]!r}"
    )
    json.loads(response.get_data())  # parses


def note_outcome(response) -> None:
    """Tell hypothesis' statistics how far the examples got (``--hypothesis-show-statistics``)."""
    answer = json.loads(response.get_data())
    detail = answer["error"]["code"] if "error" in answer else ",".join(sorted(answer))
    if answer.get("mention"):
        detail += " (a mention)"
    event(f"{response.status_code} {detail}")


def error_of(response, *statuses: int) -> tuple[str, str]:
    """The code and message of an error response in the app's one shape."""
    assert_not_a_crash(response)
    assert response.status_code in statuses, (
        f"{response.status_code} not in {statuses}: {response.get_data()[:300]!r}"
    )
    body = json.loads(response.get_data())
    assert isinstance(body, dict) and list(body) == ["error"], body
    error = body["error"]
    assert isinstance(error, dict) and sorted(error) == ["code", "message"], body
    code, message = error["code"], error["message"]
    assert isinstance(code, str) and re.fullmatch(r"[a-z][a-z0-9_]*", code), code
    assert isinstance(message, str) and message.strip(), body
    assert "Traceback" not in message and 'File "' not in message, message
    return code, message


def _sign_github(body: bytes, secret: str = GH_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _sign_pagerduty(body: bytes, secret: str = PD_SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------------------ strategies


def mostly(common: st.SearchStrategy, rare: st.SearchStrategy, times: int = 3):
    """``common`` ``times`` as often as ``rare`` (``one_of`` draws each branch alike)."""
    return st.integers(0, times).flatmap(lambda n: rare if n == times else common)


# Any character (unpaired surrogates included), with the troublemakers made likely.
edgy_chars = st.characters() | st.sampled_from(
    ["\x00", "\ud800", "\udbff", "\udc00", "\udfff", "\u202e", "\ufeff", "\u200b", "\n", '"', "\\"]
)
edgy_text = st.text(edgy_chars, max_size=30)
# Around the text limit and far past it (cheap to draw: only the size is random).
huge_text = st.sampled_from([MAX_TEXT_CHARS, MAX_TEXT_CHARS + 1, 4 * MAX_TEXT_CHARS]).map(
    lambda size: "x" * size
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±Infinity too: Python's json reads them
    | edgy_text
    | huge_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(edgy_text, children, max_size=4)
    ),
    max_leaves=10,
)
# Header values and query strings travel as latin-1 without line breaks.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
query_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)

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


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()  # ASCII: unpaired surrogates become \\udxxx escapes


json_bodies = st.one_of(
    messages().map(_dumps),
    json_values.map(_dumps),
    # the same, as raw UTF-8 with surrogates encoded as such: bytes that are not UTF-8
    messages().map(lambda m: json.dumps(m, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    messages().map(lambda m: json.dumps(m).encode("utf-16")),
    messages().map(lambda m: b"\xef\xbb\xbf" + _dumps(m)),  # a byte-order mark
    # cut short
    messages().map(_dumps).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),
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
    assert changed <= {seen, f"rq:job:{job_id}".encode(), b"rq:queue:triage", b"rq:queues"}
    job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
    assert job.func_name == TRIAGE_JOB and job.origin == TRIAGE_QUEUE
    assert job_id in Queue(TRIAGE_QUEUE, connection=connection).job_ids
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
    run_worker(redis_conn, shipped_rulebook_path(), burst=True)
    for name in (TRIAGE_QUEUE, PAGING_QUEUE):
        failed = FailedJobRegistry(name, connection=redis_conn, serializer=JSONSerializer)
        assert failed.count == 0, f"a {name} job failed on what the API accepted"
    store = MentionStore(redis_conn)
    for mention_id, message in accepted.items():
        record = store.get(mention_id)
        assert record is not None, f"{mention_id} was accepted but never stored"
        assert record["text"] == message["text"] and record["raw"] == message
        assert record["triage"]["priority"] in LEVELS
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
    message = _dumps({"channel": "discord", "id": f"big-{size}", "text": "caro is slow"})
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
        triage = {"priority": level, "category": "other", "kind": "other", "score": 1.0}
        store.save(mention, {**triage, "rules": []}, NOW, "new" if n % 2 else "replied")


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
        assert any(message.startswith(name) for name in ("limit", "cursor")), message
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


# ---------------------------------------------------------------------- POST /webhooks/github

DOCUMENTED = {
    name: json.loads((DELIVERIES / f"{name}.json").read_text())
    for name in ("issues.opened", "issues.edited", "issues.reopened", "issue_comment.created")
}
# Where the handler looks, so that mutations land there more often than in the noise.
HOT_PATHS = [
    ("action",),
    ("issue",),
    ("comment",),
    ("issue", "id"),
    ("issue", "title"),
    ("issue", "body"),
    ("issue", "html_url"),
    ("issue", "created_at"),
    ("issue", "updated_at"),
    ("issue", "user"),
    ("issue", "user", "login"),
    ("comment", "id"),
    ("comment", "body"),
    ("comment", "html_url"),
    ("comment", "created_at"),
    ("comment", "user"),
]
type_confusers = st.sampled_from(
    [
        None,
        "",
        "x" * 201,
        0,
        -1,
        2**64,
        1.5,
        True,
        [],
        {},
        ["opened"],
        {"login": 5},
        "\ud800",
        "a\x00b",
        "2026-13-45T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "not a time",
    ]
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated_deliveries(draw) -> tuple[str, dict]:
    """A documented delivery with one to three places deleted, retyped or replaced."""
    name = draw(st.sampled_from(sorted(DOCUMENTED)))
    document = copy.deepcopy(DOCUMENTED[name])
    for _ in range(draw(st.integers(1, 3))):
        every = _paths(document)
        hot = [path for path in HOT_PATHS if path in every]
        if not every:
            break
        anywhere = st.sampled_from(every)
        path = draw((st.sampled_from(hot) | anywhere) if hot else anywhere)
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        operation = draw(st.sampled_from(["delete", "replace", "confuse", "stringify"]))
        if operation == "delete":
            del parent[path[-1]]
        elif operation == "replace":
            parent[path[-1]] = draw(json_values)
        elif operation == "confuse":
            parent[path[-1]] = draw(type_confusers)
        else:
            parent[path[-1]] = json.dumps(parent[path[-1]])
    return name.split(".")[0], document


events = st.sampled_from(["issues", "issue_comment", "ping", "push", "pull_request"]) | header_text
documented_bodies = mutated_deliveries().map(lambda delivery: _dumps(delivery[1]))
github_bodies = mostly(
    documented_bodies,
    st.one_of(
        json_values.map(_dumps),
        st.binary(max_size=200),
        st.sampled_from([5_000, 200_000]).map(lambda n: b"[" * n + b"]" * n),
        st.just(b"payload=%7B%22action%22%3A%22opened%22%7D"),  # a form-encoded hook
    ),
)


def _deliver(client, body: bytes, event: str | None, delivery: str | None, signature: str | None):
    headers = {"Content-Type": "application/json"}
    for name, value in (
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", delivery),
        ("X-Hub-Signature-256", signature),
    ):
        if value is not None:
            headers[name] = value
    return client.post("/webhooks/github", data=body, headers=headers)


def assert_delivery_handled(connection, before: Snapshot, response, delivery: str) -> None:
    """A 202: the delivery is marked (with its TTL) and its mention, if any, is queued."""
    answer = response.get_json()
    assert sorted(answer) == ["delivery", "enqueued", "mention"] and answer["delivery"] == delivery
    marker = DELIVERY_KEY.format(id=delivery)
    assert 0 < connection.ttl(marker) <= DELIVERY_TTL_S
    allowed = {marker.encode()}
    if answer["mention"] is not None:
        seen = SEEN_KEY.format(id=answer["mention"]).encode()
        job_id = triage_job_id(answer["mention"])
        allowed |= {seen, f"rq:job:{job_id}".encode(), b"rq:queue:triage", b"rq:queues"}
        assert answer["enqueued"] == (seen not in before)
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
        mention = Mention.model_validate(job.args[0])
        assert mention.channel == "github" and mention.raw is not None
        if answer["enqueued"]:
            assert mention.id == answer["mention"]
    else:
        assert answer["enqueued"] is False
    changed = changed_keys(before, snapshot(connection))
    assert changed <= allowed, sorted(changed - allowed)


FRESH = "<a new delivery id>"
# The event a documented delivery is for, or any event with any body.
github_cases = mostly(
    mutated_deliveries().map(lambda delivery: (delivery[0], _dumps(delivery[1]))),
    st.tuples(events, github_bodies),
)


@fuzz(250)
@given(
    case=github_cases,
    delivery=mostly(st.sampled_from([FRESH, FRESH, FRESH, "d-1", "d-2"]), st.none() | header_text),
)
def test_signed_github_deliveries_of_any_shape(client, redis_conn, case, delivery):
    """A valid signature gets the body past the door: from there any shape is handled."""
    event, body = case
    delivery = str(uuid.uuid4()) if delivery == FRESH else delivery
    before = snapshot(redis_conn)
    response = _deliver(client, body, event, delivery, _sign_github(body))
    assert_not_a_crash(response)
    note_outcome(response)
    if response.status_code >= 400:
        code, message = error_of(response, 400, 422)
        assert_unchanged(before, redis_conn, f"a refused delivery ({message})")
        if code == "missing_header":
            assert not event or not delivery
        elif code == "invalid_json":
            assert "JSON" in message
        else:
            assert code == "invalid_payload" and message.startswith(f"{event}: ")
            assert event in ("issues", "issue_comment") or "'action'" in message, message
        return
    if response.status_code == 200:  # a ping, or a delivery handled before: nothing written
        assert_unchanged(before, redis_conn, "a ping or a redelivery")
        answer = response.get_json()
        assert answer.get("ok") is True or answer == {"duplicate": True, "delivery": delivery}
        assert event == "ping" or DELIVERY_KEY.format(id=delivery).encode() in before
        return
    assert response.status_code == 202
    assert_delivery_handled(redis_conn, before, response, delivery)


@fuzz(100)
@given(
    body=github_bodies,
    signature=st.one_of(
        header_text,
        st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"sha256={h}"),
        st.sampled_from(["", "sha256=", "sha1=0", "SHA256=" + "0" * 64]),
    ),
    event=events,
)
def test_github_deliveries_with_random_signatures_are_refused(
    client, redis_conn, body, signature, event
):
    assume(signature != _sign_github(body))
    before = snapshot(redis_conn)
    response = _deliver(client, body, event, str(uuid.uuid4()), signature)
    code, message = error_of(response, 401)
    assert code == "bad_signature" and "X-Hub-Signature-256" in message
    assert_unchanged(before, redis_conn, "a delivery with a bad signature")


# ------------------------------------------------------------------- POST /webhooks/pagerduty


def seed_incident(connection: redis.Redis, engine, n: int = 0) -> dict:
    """A new P0 incident as the triage job files it (its dedup_key is what PagerDuty
    reports), the ``n``-th: one second after the one before, so that it joins none."""
    text = "caro segfaults on launch, every command"
    triage = engine.classify(text, "x").to_dict()
    assert triage["priority"] == "P0"
    mention = {"id": f"x:{n}", "channel": "x", "text": text, "url": None}
    now = NOW + timedelta(seconds=n)
    incident, outcome = IncidentStore(connection).record_report(mention, triage, now, timedelta(0))
    assert outcome == "opened"
    return incident


@st.composite
def pagerduty_events(draw, dedup_key: str) -> dict:
    """A v3 webhook body for the incident, or a new or replayed event id; now and then
    with one field retyped or missing, in the event or in its data."""
    event = {
        "id": draw(st.sampled_from([FRESH, FRESH, FRESH, "E-1", "E-2"])),
        "event_type": draw(
            st.sampled_from(["incident.acknowledged", "incident.resolved", "incident.annotated"])
        ),
        "resource_type": "incident",
        "occurred_at": NOW.isoformat(),
        "agent": {"summary": "Ana On-Call", "type": "user_reference"},
        "data": {
            "id": "Q1",
            "type": "incident",
            "incident_key": draw(st.sampled_from([dedup_key, dedup_key, "hark-inc-nope", ""])),
        },
    }
    if event["id"] == FRESH:
        event["id"] = str(uuid.uuid4())
    how = draw(st.sampled_from(["as is", "as is", "as is", "retype", "delete"]))
    if how != "as is":
        holder = draw(st.sampled_from([event, event["data"]]))
        key = draw(st.sampled_from(sorted(holder)))
        if how == "delete":
            del holder[key]
        else:
            holder[key] = draw(json_values)
    return {"event": event}


@pytest.fixture
def seeded() -> list[str]:
    """The incidents a test has filed, newest last."""
    return []


@fuzz(150)
@given(data=st.data())
def test_signed_pagerduty_events_of_any_shape(client, redis_conn, seeded, shipped, data):
    # a new incident now and then: the examples acknowledge and resolve it along the way
    if data.draw(st.sampled_from([False] * 6 + [True]), label="new incident") or not seeded:
        seeded.append(seed_incident(redis_conn, shipped, len(seeded))["id"])
    incident_id = seeded[-1]
    dedup_key = f"hark-{incident_id}"
    body = data.draw(
        mostly(
            pagerduty_events(dedup_key).map(_dumps),
            st.one_of(
                json_values.map(_dumps),
                st.binary(max_size=100),
                st.sampled_from([5_000, 200_000]).map(lambda n: b"[" * n + b"]" * n),
            ),
        ),
        label="body",
    )
    before = snapshot(redis_conn)
    status_before = IncidentStore(redis_conn).get(incident_id)["status"]
    response = client.post(
        "/webhooks/pagerduty",
        data=body,
        headers={"X-PagerDuty-Signature": _sign_pagerduty(body)},
    )
    assert_not_a_crash(response)
    note_outcome(response)
    event(f"incident was {status_before}")
    if response.status_code >= 400:
        code, message = error_of(response, 400, 409, 422)
        expected = {400: "invalid_json", 409: "conflict", 422: "invalid_payload"}
        assert code == expected[response.status_code]
        if code == "conflict":
            assert incident_id in message and status_before in message
        assert_unchanged(before, redis_conn, f"a refused PagerDuty event ({message})")
        return
    assert response.status_code == 200
    answer = response.get_json()
    status_after = IncidentStore(redis_conn).get(incident_id)["status"]
    if "incident" in answer:
        assert answer == {"incident": incident_id, "status": status_after}
        event_id = json.loads(body)["event"].get("id")
        if event_id:  # handled: a replay of it is a duplicate
            assert redis_conn.ttl(PD_EVENT_KEY.format(id=event_id)) > 0
    else:
        assert status_after == status_before
        assert sorted(answer) in (["ignored"], ["duplicate"])
        changed = changed_keys(before, snapshot(redis_conn))  # at most the event's marker
        assert all(key.startswith(PD_EVENT_KEY.format(id="").encode()) for key in changed)


@fuzz(60)
@given(
    body=st.binary(max_size=100) | json_values.map(_dumps),
    signature=st.one_of(
        header_text,
        st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"v1={h}"),
        st.sampled_from(["", "v1=", "v0=" + "0" * 64, ",", "v1=,v1="]),
    ),
)
def test_pagerduty_events_with_random_signatures_are_refused(client, redis_conn, body, signature):
    assume(_sign_pagerduty(body) not in signature)
    before = snapshot(redis_conn)
    response = client.post(
        "/webhooks/pagerduty", data=body, headers={"X-PagerDuty-Signature": signature}
    )
    code, message = error_of(response, 401)
    assert code == "bad_signature" and "X-PagerDuty-Signature" in message
    assert_unchanged(before, redis_conn, "an event with a bad signature")
