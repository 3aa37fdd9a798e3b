"""Fixtures of the reliability suite: a restartable append-only Redis, a fake PagerDuty,
and real ``hark`` processes. ``make chaos`` sets HARK_CHAOS_LONG=1 for the long form."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

# The suite's shared checks assert too: show their values as pytest does in test modules.
pytest.register_assert_rewrite("tests.reliability.harness", "tests.reliability.fuzz_support")

from hark.embedded_redis import EmbeddedRedis  # noqa: E402
from tests.fakes.pagerduty_server import FakePagerDuty  # noqa: E402
from tests.reliability.harness import Processes, hark_env  # noqa: E402

LONG = os.environ.get("HARK_CHAOS_LONG") == "1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability"


# Tests that share one pytest-xdist worker, one after another, under ``--dist loadgroup``
# (``make test``), by the start of their node ids. pytest-xdist 3.8 reads ``xdist_group``
# marks by renaming ``item._nodeid``, which pytest 9 no longer reads (its node ids are
# structured), so marks would be ignored without a word.
XDIST_GROUPS = {
    # one ``hark run`` for every browser test (the ``running`` fixture is per worker), not
    # one per worker, each replaying the launch-day sample on a core for a quarter-minute
    "tests/e2e/": "e2e",
    # each form keeps the cores busy for most of its run (two at once would measure each
    # other), and both update load.json
    "tests/reliability/test_load.py::": "load",
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadgroup`` with the groups of ``XDIST_GROUPS``; any other test a unit of
    its own, handed to whichever worker is free."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling  # type: ignore[import-untyped]

    class GroupsByNodeId(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next(
                (g for start, g in XDIST_GROUPS.items() if nodeid.startswith(start)), nodeid
            )

    return GroupsByNodeId(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long_running(seconds)`` first, longest first, the rest in their
    order: over several xdist workers (``make test``), a minute-long test started last
    would run alone at the end while the other workers sat idle."""

    def seconds(item: pytest.Item) -> float:
        mark = item.get_closest_marker("long_running")
        return float(mark.args[0]) if mark else 0.0

    items.sort(key=seconds, reverse=True)


def scaled(bounded: float, long: float) -> float:
    """A duration or a size: ``bounded`` in ``make test``, ``long`` in ``make chaos``."""
    return long if LONG else bounded


@pytest.fixture
def aof_redis(tmp_path) -> Iterator[EmbeddedRedis]:
    """A redis-server of its own, append-only file on, that a test may restart."""
    server = EmbeddedRedis(tmp_path / "redis", append_only=True).start()
    yield server
    server.stop()


@pytest.fixture
def aof_conn(aof_redis) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(aof_redis.url)
    yield connection
    connection.close()


@pytest.fixture
def fake_pd() -> Iterator[FakePagerDuty]:
    server = FakePagerDuty().start()
    yield server
    server.stop()


@pytest.fixture
def processes(request, aof_redis, fake_pd) -> Iterator[Processes]:
    """``hark`` processes on ``aof_redis``, paging ``fake_pd``; logs kept per test."""
    env = hark_env(
        aof_redis.url,
        HARK_PD_ROUTING_KEY="R0UTINGKEY0123456789abcdef012345",
        HARK_PD_EVENTS_URL=fake_pd.url,
    )
    log_dir = ARTIFACTS / request.node.name
    shutil.rmtree(log_dir, ignore_errors=True)  # this run's logs only
    running = Processes(env, log_dir)
    yield running
    running.stop_all()
