"""Faults of the X poller, with real processes: ``hark poll --every`` subprocesses (real
tweepy, over HTTP) against the fake X API, a real ``hark worker``, and a real append-only
Redis.

- kill -9 of the poller after it fetched the first pages of a poll and before it saved its
  cursor: the next poller fetches the same tweets again from the old cursor, and every
  mention is triaged exactly once;
- X answering 429 with its reset 12 s ahead (60 s in ``make chaos``): the poller keeps
  running, asks X nothing until the reset, shows the pause on ``GET /api/sources`` and on
  the overview page meanwhile, then fetches what was posted during the pause and shows
  healthy again.

``hark poll --every`` accepts no interval under 5 s, so the pollers here poll every 5 s.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from desk.mentions import MentionStore
from monitor.store import MonitorState
from tests.conftest import DATA, X_FIXTURES
from tests.fakes.x_server import FakeX
from tests.integration.test_triage_quality import hark
from tests.reliability.conftest import ARTIFACTS, scaled
from tests.reliability.harness import Processes, drained, registries, settled, wait_until
from web import create_app
from web.users import hash_password, load_users

TOKEN = "reliability-x-bearer-token"
WATCHED = {"id": "4242", "username": "CaroCLI"}
FEED = "x:mentions"
RECORDED = X_FIXTURES / "get_users_mentions.json"  # 10 mentions of @CaroCLI
PAGE_SIZE = 10
INTERVAL_S = "5"  # the smallest interval ``hark poll --every`` accepts
API_TOKEN = "reliability-api-token"
# X's reset after the 429: 60 s in the long form. The bounded form's 12 s still spans two
# polling rounds (one each 5 s) that must ask X nothing, and leaves 5 s between the pause's
# late check and the reset.
RESET_IN_S = scaled(12, 60)


class TimedFakeX(FakeX):
    """The fake X, noting when each request arrived (epoch seconds); when
    ``rate_limit_in_s`` is set, the next request is answered 429 with
    ``x-rate-limit-reset`` that many seconds after its arrival, as X does. A client killed
    before its answer is written is not reported as an error of the server."""

    def __init__(self, token: str, page_size: int = 100) -> None:
        super().__init__(token, page_size)
        self.arrivals: list[tuple[float, str]] = []
        self.rate_limit_in_s: float | None = None
        self.rate_limited_at: float | None = None
        reported = self._server.handle_error

        def handle_error(request, client_address) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):
                reported(request, client_address)  # a killed client's broken pipe is expected

        self._server.handle_error = handle_error

    def _answer(self, request) -> tuple[int, dict]:
        now = time.time()
        self.arrivals.append((now, request.path))
        if self.rate_limit_in_s is not None:
            self.reset_epoch = int(now) + int(self.rate_limit_in_s)
            self.rate_limit_in_s, self.rate_limited_at = None, now
            self.faults.insert(0, (429, 0))
        return super()._answer(request)


@pytest.fixture
def fake_x():
    server = TimedFakeX(TOKEN, page_size=PAGE_SIZE).start()
    server.users[WATCHED["username"]] = WATCHED
    server.load_recording(RECORDED)
    yield server
    server.stop()


def _x_env(fake_x: FakeX) -> dict[str, str]:
    return {
        "HARK_X_BEARER_TOKEN": TOKEN,
        "HARK_X_USER_ID": WATCHED["id"],
        "HARK_X_API_URL": fake_x.url,
    }


def _new_tweets(count: int, after_id: str, tag: str) -> list[dict]:
    """``count`` tweets with ids above ``after_id``, newest first (as X lists them), their
    texts the labelled corpus's X mentions."""
    lines = (DATA / "corpus" / "caro-support.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [m["text"] for m in map(json.loads, filter(None, lines)) if m["channel"] == "x"]
    posted = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    tweets = [
        {
            "id": str(int(after_id) + number),
            "text": f"{texts[number % len(texts)]} [{tag} {number}]",
            "edit_history_tweet_ids": [str(int(after_id) + number)],
            "author_id": str(10_000 + number),
            "created_at": posted,
        }
        for number in range(1, count + 1)
    ]
    return tweets[::-1]


def _mention_requests(fake_x: FakeX) -> list[str]:
    return [path for path in fake_x.requests if "/mentions" in path]


def _wait_all_triaged(connection, count: int) -> None:
    wait_until(
        lambda: MentionStore(connection).count() >= count and settled(connection),
        60,
        "the worker triaging every mention",
    )


def _triaged_exactly_once(connection, tweet_ids: list[str], worker_log: str) -> None:
    """Every tweet stored, nothing else stored, each triage job run once (the worker logs
    ``<queue>: <description> (<job id>)`` as it starts a job), no job failed."""
    store = MentionStore(connection)
    missing = [i for i in tweet_ids if store.get(f"x:{i}") is None]
    assert not missing, f"{len(missing)} tweets never triaged, e.g. {missing[:3]}"
    assert store.count() == len(set(tweet_ids)), "mentions stored that X never served"
    runs = Counter(re.findall(r"triage: triage x:(\d+) \(", worker_log))
    assert runs == Counter(tweet_ids), {
        "twice": {i: n for i, n in runs.items() if n > 1},
        "never": sorted(set(tweet_ids) - set(runs))[:3],
    }
    counts = registries(connection)
    assert drained(connection), f"jobs left in RQ's registries: {counts}"
    assert not any(c["failed"] for c in counts.values()), f"failed jobs: {counts}"


def _kill_group(processes: Processes, name: str) -> int:
    """SIGKILL to the process's group (it was started in a session of its own)."""
    process = processes.running.pop(name)
    os.killpg(process.pid, signal.SIGKILL)
    return process.wait(timeout=10)


def _write_figures(name: str, figures: dict) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(figures, indent=2))
    print(figures)


# ---------------------------------------------------------------------------- kill -9


def test_poller_killed_between_fetch_and_cursor_save_loses_and_repeats_nothing(
    processes, aof_conn, fake_x
):
    state = MonitorState(aof_conn)
    processes.start("worker", "worker")
    # A first poll notes where X is (the newest page only: history is not backfilled).
    first = subprocess.run(
        [hark(), "poll", "--once"],
        env={**processes.env, **_x_env(fake_x)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    old_cursor = fake_x.mentions[0]["id"]
    assert state.cursor(FEED) == old_cursor

    # Mentions arrive, several pages of them; the third page takes 10 s to come.
    fresh = _new_tweets(int(scaled(45, 450)), old_cursor, "kill")
    fake_x.mentions = fresh + fake_x.mentions
    asked_before = len(_mention_requests(fake_x))
    fake_x.faults = [(200, 0), (200, 0), (200, 10)]
    processes.start("poller-1", "poll", "--every", INTERVAL_S, **_x_env(fake_x))
    wait_until(
        lambda: len(_mention_requests(fake_x)) - asked_before >= 3,
        30,
        "the poller asking for the third page",
        every_s=0.01,
    )
    # The window: pages 1 and 2 served (page 3 is asked for with page 2's next_token), page
    # 3 in flight, the cursor still the old one. (This poller submits a poll's tweets once
    # all its pages are in, so none is submitted yet; the test allows either way.)
    asked = _mention_requests(fake_x)[asked_before:]
    cursor_at_kill = state.cursor(FEED)
    seen_at_kill = sum(aof_conn.exists(f"hark:mention:seen:x:{t['id']}") for t in fresh)
    assert processes.running["poller-1"].poll() is None, "the poller died on its own"
    returncode = _kill_group(processes, "poller-1")
    assert returncode == -signal.SIGKILL
    assert len(asked) == 3 and fake_x.faults == [], "not killed while page 3 was in flight"
    assert "pagination_token" not in asked[0]
    first_token, second_token = fake_x.issued_tokens[-2:]  # pages 1 and 2 handed them out
    assert f"pagination_token={first_token}" in asked[1]
    assert f"pagination_token={second_token}" in asked[2]
    assert cursor_at_kill == old_cursor and state.cursor(FEED) == old_cursor
    assert "new" not in processes.log("poller-1")  # killed before it could report a poll

    processes.start("poller-2", "poll", "--every", INTERVAL_S, **_x_env(fake_x))
    newest = fresh[0]["id"]
    wait_until(lambda: state.cursor(FEED) == newest, 30, "the new poller moving the cursor")
    restart = _mention_requests(fake_x)[asked_before + 3]
    assert f"since_id={old_cursor}" in restart and "pagination_token" not in restart
    all_ids = [tweet["id"] for tweet in fake_x.mentions]
    _wait_all_triaged(aof_conn, len(all_ids))
    time.sleep(1)  # a late duplicate would have been queued by now
    _triaged_exactly_once(aof_conn, all_ids, processes.log("worker"))
    assert state.cursor(FEED) == newest
    again = f"x: {len(fresh) - seen_at_kill} new, {seen_at_kill} already seen"
    assert again in processes.log("poller-2")  # fetched again; submitted ones deduplicated
    _write_figures(
        "poller-kill",
        {
            "tweets": len(all_ids),
            "pages_per_poll": -(-len(fresh) // PAGE_SIZE),
            "pages_served_before_kill": 2,
            "submitted_before_kill": seen_at_kill,
            "cursor_at_kill": cursor_at_kill,
            "cursor_after": state.cursor(FEED),
            "mention_requests_to_x": len(_mention_requests(fake_x)),
        },
    )


# ---------------------------------------------------------------------------- 429


@pytest.fixture
def web_clients(aof_conn, tmp_path):
    """A client of the JSON API, and one signed in to the pages as a viewer."""
    users = tmp_path / "users.yaml"
    users.write_text(
        f"users:\n  - {{name: vic, role: viewer, password_hash: '{hash_password('pw')}'}}\n"
    )
    app = create_app(
        redis=aof_conn,
        api_token=API_TOKEN,
        secret_key="s" * 40,
        users=load_users(users),
        insecure_cookies=True,
    )
    page = app.test_client()
    login = page.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    signed_in = page.post("/login", data={"name": "vic", "password": "pw", "csrf_token": csrf})
    assert signed_in.status_code == 303, signed_in.get_data(as_text=True)
    return app.test_client(), page


def _x_source(api) -> dict:
    response = api.get("/api/sources", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 200
    (x,) = [item for item in response.get_json()["items"] if item["source"] == "x"]
    return x


def _x_row(page) -> str:
    """The X row of the overview's source table, as text."""
    response = page.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    row = re.search(r'<th scope="row">x</th>(.*?)</tr>', html, re.S)
    assert row, "the overview shows no X source"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1))).strip()


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _shows_the_pause(api, page, reset_at: float, limited_at: float) -> dict:
    """``GET /api/sources`` and the overview show X rate limited, until when, and no
    success since the 429 (X answered it at ``limited_at``)."""
    x = _x_source(api)
    assert x["healthy"] is False, x
    assert "rate limit" in x["last_error"], x
    assert x["paused_until"] and abs(_epoch(x["paused_until"]) - reset_at) < 1, x
    assert x["last_success"] and _epoch(x["last_success"]) < limited_at, (
        "a poll that asked X nothing counted as one",
        x,
    )
    row = _x_row(page)
    assert "unhealthy" in row and "paused until" in row and "rate limit" in row, row
    return {"api": x, "overview": row}


@pytest.mark.long_running(22)
@pytest.mark.timeout(300)  # its waits add up to about 235 s at worst
def test_rate_limit_pauses_the_poller_until_x_resets(processes, aof_conn, fake_x, web_clients):
    api, page = web_clients
    state = MonitorState(aof_conn)
    processes.start("worker", "worker")
    processes.start("poller", "poll", "--every", INTERVAL_S, **_x_env(fake_x))
    old_cursor = fake_x.mentions[0]["id"]
    wait_until(lambda: state.cursor(FEED) == old_cursor, 30, "the first poll")
    assert wait_until(lambda: _x_source(api)["healthy"], 10, "X healthy after its first poll")

    fake_x.rate_limit_in_s = RESET_IN_S  # the next request: 429, reset RESET_IN_S ahead
    wait_until(lambda: fake_x.rate_limited_at, 30, "the poller meeting the 429", every_s=0.05)
    limited_at, reset_at = fake_x.rate_limited_at, fake_x.reset_epoch
    asked_before = len(fake_x.arrivals)
    fresh = _new_tweets(25, old_cursor, "paused")  # posted during the pause: three pages
    fake_x.mentions = fresh + fake_x.mentions

    # The poller polls on meanwhile, so no last success is read before the 429 to compare
    # with (a poll under way then may record a newer one): a success must predate the 429.
    wait_until(lambda: _x_source(api)["paused_until"], 10, "the pause noted", every_s=0.05)
    early = _shows_the_pause(api, page, reset_at, limited_at)
    # A few polling rounds later (one each 5 s), still well before the reset (a sleep on a
    # loaded machine can overrun: woken just before the reset, the resumed poll could come
    # first).
    time.sleep(max(0.0, reset_at - time.time() - 5))
    late = _shows_the_pause(api, page, reset_at, limited_at)
    assert late["api"]["last_success"] == early["api"]["last_success"], "a success while paused"
    assert processes.running["poller"].poll() is None, "the poller stopped during the pause"
    assert len(fake_x.arrivals) == asked_before, "X asked during the pause"

    newest = fresh[0]["id"]
    wait_until(lambda: state.cursor(FEED) == newest, 30, "the poller resuming after the reset")
    during_pause = [path for at, path in fake_x.arrivals[asked_before:] if at < reset_at]
    assert during_pause == [], f"{len(during_pause)} requests to X before its reset"
    resumed_at = fake_x.arrivals[asked_before][0]
    all_ids = [tweet["id"] for tweet in fake_x.mentions]
    _wait_all_triaged(aof_conn, len(all_ids))
    _triaged_exactly_once(aof_conn, all_ids, processes.log("worker"))

    x = wait_until(lambda: (source := _x_source(api))["healthy"] and source, 10, "X healthy again")
    assert x["paused_until"] is None and _epoch(x["last_success"]) >= reset_at, x
    row = _x_row(page)
    assert "healthy" in row and "unhealthy" not in row and "paused until" not in row, row
    log = processes.log("poller")
    assert log.count("rate limit reached") == 1, log  # one 429, then quiet
    assert f"x: {len(fresh)} new, 0 already seen" in log, log
    assert processes.running["poller"].poll() is None, "the poller stopped"
    after_429 = log.split("rate limit reached", 1)[1].split(f"x: {len(fresh)} new", 1)[0]
    _write_figures(
        "poller-rate-limit",
        {
            "reset_s_after_429": round(reset_at - limited_at, 3),
            "requests_to_x_during_pause": len(during_pause),
            "polling_rounds_during_pause": after_429.count("x: 0 new"),
            "first_request_s_after_429": round(resumed_at - limited_at, 3),
            "first_request_s_after_reset": round(resumed_at - reset_at, 3),
            "fetched_after_resume": len(fresh),
            "during_pause": {"early": early, "late": late},
            "after": {"api": x, "overview": row},
        },
    )
