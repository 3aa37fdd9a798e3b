"""PagerDuty failing for minutes (500, then 429, then no answer at all) and PagerDuty
taking 5 s a request: every P0 incident still reaches PagerDuty, as exactly one incident
per dedup_key, nothing is left failed in RQ, and the overview and ``/healthz`` say pages
are held up for as long as they are.
"""

from __future__ import annotations

import json
import time

import pytest

from oncall.incidents import IncidentStore
from services.intake import Intake
from tests.reliability.conftest import ARTIFACTS, scaled
from tests.reliability.harness import (
    corpus_mentions,
    nothing_lost,
    settled,
    signed_in_client,
    wait_until,
)

# Three phases of the outage: 500s, then 429s, then requests that hang past the pager's
# 10 s timeout. The long form keeps the shipped retry schedule (0, 5, 15, 30, 60, 120,
# 300... s), whose attempts at 0, 110 and 230 s fall in each phase; the bounded form
# retries every second, so that each phase sees several attempts fail. A phase lasts
# PHASE_S or until the overview shows its error, whichever is later: the hanging phase
# lasts at least the pager's 10 s timeout whatever PHASE_S is.
PHASE_S = scaled(6, 80)
RETRIES = {} if scaled(0, 1) else {"HARK_PAGE_RETRIES": ",".join(["1"] * 100)}
PHASES = [(500, 0.0, "PagerDuty answered 500"), (429, 0.0, "PagerDuty answered 429")]
PHASES.append((500, 15.0, "PagerDuty unreachable"))
SLOW_WAIT_S = 120  # for every page through a PagerDuty taking 5 s a request
# The corpus's 255 messages (every channel and priority) through the slow PagerDuty; its
# 46 P0s open 17 incidents, 5 s a page, two workers at a time. The bounded form keeps the
# first 10 P0s (the others' places go to the rest of the corpus, cycled): several
# incidents a worker, so pages still queue behind 5-s requests, and the ordinary triage
# queue waits behind them all.
SLOW_P0 = None if scaled(0, 1) else 10


def _notes(connection, kind: str) -> int:
    store = IncidentStore(connection)
    items, _ = store.list(None, 100, None)
    return sum(1 for item in items for event in item.timeline if event.event == kind)


@pytest.mark.long_running(35)
@pytest.mark.timeout(int(3 * PHASE_S) + 600)
def test_a_pagerduty_outage_of_minutes_holds_pages_back_but_loses_none(
    processes, aof_conn, fake_pd
):
    fake_pd.outage(PHASE_S, 500)
    processes.start("worker-1", "worker", **RETRIES)
    processes.start("worker-2", "worker", **RETRIES)
    mentions = corpus_mentions(255, "outage")
    intake = Intake(aof_conn)
    for mention in mentions:
        intake.submit(mention)
    pages = signed_in_client(aof_conn)

    shown = []
    for status, delay_s, message in PHASES:
        # Each phase lasts PHASE_S, or until its error has shown (an attempt late in the
        # phase that hangs is known only at the pager's 10 s timeout); the next phase, or
        # the end of the outage, replaces it.
        phase_ends = time.monotonic() + PHASE_S
        fake_pd.outage(PHASE_S + 60, status, delay_s)
        wait_until(
            lambda message=message: message in pages.get("/").get_data(as_text=True),
            PHASE_S + 30,
            f"the overview showing {message!r} during the outage",
        )
        health = pages.get("/healthz")
        assert health.status_code == 503
        assert any(message in reason for reason in health.get_json()["reasons"])
        assert not fake_pd.incidents, "a page got through a PagerDuty that was down"
        shown.append(message)
        time.sleep(max(0.0, phase_ends - time.monotonic()))
    fake_pd.clear_faults()  # PagerDuty is back
    wait_until(
        lambda: fake_pd.incidents and settled(aof_conn) and not _open_retries(aof_conn),
        400,
        "every page through once PagerDuty is back",
    )
    figures = nothing_lost(aof_conn, fake_pd, [m.id for m in mentions])
    assert "pages getting through" in pages.get("/").get_data(as_text=True)
    assert pages.get("/healthz").get_json()["pagerduty"]["ok"] is True
    figures |= {
        "outage_s": 3 * PHASE_S,
        "shown_on_the_overview": shown,
        "requests_refused": sum(1 for r in fake_pd.requests if r.status != 202),
        "page_retries_noted": _notes(aof_conn, "page-retry"),
    }
    _write("pagerduty-outage.json", figures)


def _open_retries(connection) -> bool:
    """An incident still waiting for its trigger to get through."""
    store = IncidentStore(connection)
    items, _ = store.list(None, 100, None)
    return any(
        not any(e.event == "page-sent" for e in item.timeline) or item.status == "page-failed"
        for item in items
    )


# The wait for every page, and starting workers, submitting and checking the figures.
@pytest.mark.long_running(25)
@pytest.mark.timeout(SLOW_WAIT_S + 90)
def test_a_pagerduty_taking_5_s_a_request_pages_everything_once(processes, aof_conn, fake_pd):
    fake_pd.delay_s = 5.0
    processes.start("worker-1", "worker")
    processes.start("worker-2", "worker")
    mentions = corpus_mentions(255, "slow", most_p0=SLOW_P0)
    submitted = time.time()
    intake = Intake(aof_conn)
    for mention in mentions:
        intake.submit(mention)
    wait_until(
        lambda: fake_pd.incidents and settled(aof_conn) and not _open_retries(aof_conn),
        SLOW_WAIT_S,
        "every page through a slow PagerDuty",
    )
    figures = nothing_lost(aof_conn, fake_pd, [m.id for m in mentions])
    firsts = fake_pd.first_trigger_times().values()
    figures["slowest_page_after_submit_s"] = round(max(firsts) - submitted, 1)
    _write("pagerduty-slow.json", figures)


def _write(name: str, figures: dict) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_text(json.dumps(figures, indent=2))
    print(figures)
