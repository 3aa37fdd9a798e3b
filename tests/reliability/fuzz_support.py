"""What the fuzz tests of the JSON API and the webhooks share (``test_fuzz_api.py``,
``test_fuzz_webhooks.py``, ``test_webhook_replay.py``).

- The app under test, built on a real Redis with fixed secrets, token and clock.
- What is checked: Redis snapshots (every key compared with DUMP) to prove that a refused
  request changed nothing, and the app's one error shape of ``web.errors``, without a 5xx.
- Signatures as GitHub and PagerDuty make them, and an incident filed as the triage job
  files it, for the PagerDuty webhook to act on.
- The hypothesis strategies for bad input: any JSON value, edgy and huge strings, header
  text; and ``json_paths``, the places in a document to mutate (``test_fuzz_rulebook.py``
  uses it too).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from monitor.mention import MAX_TEXT_CHARS, IncomingMessage
from oncall.incidents import IncidentStore
from oncall.records import Incident, IncidentReport
from tests.conftest import GITHUB_FIXTURES
from tests.fakes.pagerduty_webhooks import signature
from web import create_app

NOW = datetime(2026, 1, 16, 15, 0, tzinfo=UTC)
TOKEN = "fuzz-api-token-0123456789"
GH_SECRET = "fuzz-github-webhook-secret"
PD_SECRET = "fuzz-pagerduty-webhook-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DELIVERIES = GITHUB_FIXTURES  # deliveries in GitHub's documented shape
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


def seed_incident(connection: redis.Redis, engine, n: int = 0) -> Incident:
    """A new P0 incident as the triage job files it (its dedup_key is what PagerDuty
    reports), the ``n``-th: one second after the one before, so that it joins none."""
    text = "caro segfaults on launch, every command"
    triage = engine.classify(text, "x").record()
    assert triage.priority == "P0"
    report = IncidentReport(mention_id=f"x:{n}", channel="x", text=text)
    now = NOW + timedelta(seconds=n)
    incident, outcome = IncidentStore(connection).record_report(report, triage, now, timedelta(0))
    assert outcome == "opened"
    return incident


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


# ------------------------------------------------------------------------------ signatures


def github_signature(body: bytes, secret: str = GH_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def pagerduty_signature(body: bytes, *secrets: str) -> str:
    """PagerDuty's header: one ``v1=`` signature per secret (two during a rotation)."""
    return signature(body, *(secrets or (PD_SECRET,)))


# ------------------------------------------------------------------------------ strategies


def mostly(common: st.SearchStrategy, rare: st.SearchStrategy, times: int = 3):
    """``common`` ``times`` as often as ``rare`` (``one_of`` draws each branch alike)."""
    return st.integers(0, times).flatmap(lambda n: rare if n == times else common)


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()  # ASCII: unpaired surrogates become \\udxxx escapes


def json_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """The path (keys and indexes) to every value nested in a document of dicts and lists."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += json_paths(child, (*prefix, index))
    return found


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
