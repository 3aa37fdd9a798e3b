"""The P0 fast lane (fakeredis): the intake classifies each mention and puts a P0 on the P0
triage queue, everything else on the normal one; the job in either lane is the full triage;
the processes that accept mentions load the rulebook, and say so the worker's way when it
does not load; ``hark jobs`` sees the P0 queue."""

from __future__ import annotations

from datetime import UTC, datetime

import fakeredis
import pytest
from click.testing import CliRunner
from rq import Queue
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

import hark.replay as replay_module
import hark.service_cli as service_cli
from desk.mentions import MentionStore
from hark.cli import cli
from hark.redis_connection import ConfigError
from hark.rulebook_files import shipped_rulebook_path
from hark.settings import Settings
from hark.wiring import intake, worker_services
from hark.worker import run_worker
from monitor.mention import Mention, make_mention
from oncall.incidents import IncidentStore
from rules import Engine
from services.context import Services
from services.intake import Intake
from services.jobs import P0_TRIAGE_QUEUE, TRIAGE_QUEUE, WORKER_QUEUES
from tests.conftest import RULEBOOK_HEADER

NOW = datetime(2026, 1, 24, 15, 0, tzinfo=UTC)
P0_TEXT = "caro crashes on launch every time since 1.2.0"
P3_TEXT = "how do I set the default model?"


def _mention(native_id: str, text: str) -> Mention:
    return make_mention(channel="x", native_id=native_id, text=text, now=NOW)


def _queued(connection: fakeredis.FakeRedis, name: str) -> list[str]:
    """The ids of the mentions waiting on queue ``name``, in order."""
    queue = Queue(name, connection=connection, serializer=JSONSerializer)
    return [job.args[0]["id"] for job in queue.get_jobs()]


@pytest.fixture
def connection() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture
def lane_intake(connection, shipped: Engine) -> Intake:
    return Intake(connection, lambda: shipped)


def test_a_p0_takes_the_p0_lane_and_a_p3_the_normal_one(connection, lane_intake, shipped):
    assert shipped.classify(P0_TEXT, "x").priority == "P0"
    assert shipped.classify(P3_TEXT, "x").priority == "P3"
    assert lane_intake.submit(_mention("1", P3_TEXT))
    assert lane_intake.submit(_mention("2", P0_TEXT))
    assert _queued(connection, P0_TRIAGE_QUEUE) == ["x:2"]
    assert _queued(connection, TRIAGE_QUEUE) == ["x:1"]


def test_a_p0_seen_before_is_not_queued_again(connection, lane_intake):
    assert lane_intake.submit(_mention("2", P0_TEXT)) is True
    assert lane_intake.submit(_mention("2", P0_TEXT)) is False
    assert _queued(connection, P0_TRIAGE_QUEUE) == ["x:2"]
    assert _queued(connection, TRIAGE_QUEUE) == []


def test_the_p0_lanes_job_is_the_full_triage(connection, lane_intake):
    lane_intake.submit(_mention("2", P0_TEXT))
    lane_intake.submit(_mention("1", P3_TEXT))
    assert run_worker(worker_services(connection, shipped_rulebook_path()), burst=True)
    stored = MentionStore(connection)
    p0, p3 = stored.get("x:2"), stored.get("x:1")
    assert p0 is not None and p3 is not None
    assert (p0.triage.priority, p3.triage.priority) == ("P0", "P3")
    assert p0.triage.rules and p0.status == "new"
    incidents, _ = IncidentStore(connection).list(None, 10, None)
    assert [incident.mentions for incident in incidents] == [("x:2",)]
    assert [page.event for page in incidents[0].pages] == ["page-sent"]  # the dry-run pager


def test_the_worker_takes_a_p0_before_mentions_queued_earlier(connection, lane_intake):
    for number in range(5):
        lane_intake.submit(_mention(str(number), P3_TEXT))
    lane_intake.submit(_mention("p0", P0_TEXT))
    assert run_worker(worker_services(connection, shipped_rulebook_path()), burst=True)
    stored = MentionStore(connection)
    p0 = stored.get("x:p0")
    assert p0 is not None
    assert all(p0.triaged_at < stored.get(f"x:{n}").triaged_at for n in range(5))


def test_paging_then_the_p0_lane_then_the_rest_and_the_write_backs_last():
    assert WORKER_QUEUES == ("paging", P0_TRIAGE_QUEUE, TRIAGE_QUEUE, "write-back")


def test_without_a_rulebook_every_mention_takes_the_normal_lane(connection):
    intake_without_engine = Intake(connection)
    services_without_engine = Intake.for_services(Services(connection=connection))
    assert intake_without_engine.submit(_mention("1", P0_TEXT))
    assert services_without_engine.submit(_mention("2", P0_TEXT))
    assert _queued(connection, TRIAGE_QUEUE) == ["x:1", "x:2"]
    assert _queued(connection, P0_TRIAGE_QUEUE) == []


def test_an_engine_that_fails_costs_the_mention_its_head_start_only(connection, caplog):
    def broken() -> Engine:
        raise RuntimeError("the engine tripped")

    assert Intake(connection, broken).submit(_mention("1", P0_TEXT)) is True
    assert _queued(connection, TRIAGE_QUEUE) == ["x:1"]
    assert "could not classify x:1" in caplog.text


def test_the_intake_of_replay_and_poll_reads_hark_rules(connection, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        RULEBOOK_HEADER + "rules:\n  - {id: meltdown, description: d, "
        "match: {keyword: [meltdown]}, priority: P0, weight: 1}\n",
        encoding="utf-8",
    )
    built = intake(Settings(rules=str(rules)), connection)
    assert built.submit(_mention("1", "a meltdown!"))
    assert built.submit(_mention("2", P0_TEXT))  # P0 in the shipped rulebook, not in this one
    assert _queued(connection, P0_TRIAGE_QUEUE) == ["x:1"]
    assert _queued(connection, TRIAGE_QUEUE) == ["x:2"]


def _broken_rulebook(tmp_path) -> str:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: [", encoding="utf-8")
    return str(rules)


def test_an_intake_whose_rulebook_does_not_load_is_refused_naming_the_file(connection, tmp_path):
    path = _broken_rulebook(tmp_path)
    with pytest.raises(ConfigError) as refused:
        intake(Settings(rules=path), connection)
    assert str(refused.value).startswith("the rulebook does not load:\n" + path)


def test_replay_and_worker_refuse_a_broken_rulebook_in_the_same_words(
    connection, tmp_path, monkeypatch
):
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"channel": "x", "id": "1", "text": "hi"}\n', encoding="utf-8")
    monkeypatch.setattr(replay_module, "connect", lambda settings: connection)
    monkeypatch.setattr(service_cli, "connect", lambda settings: connection)
    env = {"HARK_RULES": _broken_rulebook(tmp_path)}
    runner = CliRunner()
    replayed = runner.invoke(cli, ["replay", str(feed)], env=env)
    worked = runner.invoke(cli, ["worker", "--burst"], env=env)
    assert (replayed.exit_code, worked.exit_code) == (2, 2)
    assert replayed.output.startswith("Error: the rulebook does not load:\n")
    assert replayed.output == worked.output
    assert _queued(connection, TRIAGE_QUEUE) == _queued(connection, P0_TRIAGE_QUEUE) == []


def test_hark_jobs_lists_and_retries_the_p0_lanes_failed_jobs(connection, shipped, monkeypatch):
    monkeypatch.setattr(service_cli, "_connect_or_exit", lambda settings: connection)
    Intake(connection, lambda: shipped).submit(_mention("2", P0_TEXT))
    queue = Queue(P0_TRIAGE_QUEUE, connection=connection, serializer=JSONSerializer)
    job = queue.get_jobs()[0]
    queue.remove(job)
    FailedJobRegistry(queue=queue).add(job, exc_string="Traceback\nRuntimeError: boom")
    runner = CliRunner()
    listed = runner.invoke(cli, ["jobs", "list"])
    assert f"{P0_TRIAGE_QUEUE}  {job.id}  triage x:2" in listed.output
    retried = runner.invoke(cli, ["jobs", "retry", "--queue", P0_TRIAGE_QUEUE])
    assert "1 job(s) requeued" in retried.output
    assert _queued(connection, P0_TRIAGE_QUEUE) == ["x:2"]
