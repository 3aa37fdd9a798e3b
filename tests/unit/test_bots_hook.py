"""Every bot is told of each triaged mention, with its incident; a bot that fails costs the
mention nothing (it is stored, filed and queued all the same)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import fakeredis

from desk.mentions import MentionStore
from desk.records import StoredMention
from monitor.mention import make_mention
from services.context import Services
from services.triage import triage_mention


@dataclass
class Recorder:
    name: str = "recorder"
    seen: list[tuple[str, str | None]] = field(default_factory=list)

    def after_triage(self, services, mention: StoredMention, incident_id: str | None) -> None:
        self.seen.append((mention.id, incident_id))

    def after_correction(self, services, mention: StoredMention) -> None:
        self.seen.append((mention.id, mention.triage.priority))


class Broken:
    name = "broken"

    def after_triage(self, services, mention, incident_id) -> None:
        raise RuntimeError("the bot fell over")

    def after_correction(self, services, mention) -> None:
        raise RuntimeError("the bot fell over again")


def test_bots_are_told_of_each_mention_and_a_broken_one_blocks_nothing(shipped, caplog):
    recorder = Recorder()
    services = Services(connection=fakeredis.FakeRedis(), engine=lambda: shipped)
    services = replace(services, bots=(Broken(), recorder))
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    crash = make_mention(channel="x", native_id="1", text="caro crashes on launch", now=now)
    question = make_mention(channel="x", native_id="2", text="how do I set the model?", now=now)
    filed = triage_mention(services, crash.model_dump(mode="json"))
    triage_mention(services, question.model_dump(mode="json"))
    assert recorder.seen == [("x:1", filed["incident"]["id"]), ("x:2", None)]
    assert MentionStore(services.connection).get("x:1") is not None
    assert "bot broken could not take x:1" in caplog.text


def test_bots_hear_of_a_correction_through_a_job_and_a_broken_one_blocks_nothing(shipped, caplog):
    from rq import Queue
    from rq.serializers import JSONSerializer

    from services.bots import tell_bots_of_correction
    from services.corrections import correct_priority
    from services.jobs import WRITE_BACK_QUEUE

    recorder = Recorder()
    services = replace(
        Services(connection=fakeredis.FakeRedis(), engine=lambda: shipped),
        bots=(Broken(), recorder),
    )
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    question = make_mention(channel="x", native_id="2", text="how do I set the model?", now=now)
    triage_mention(services, question.model_dump(mode="json"))
    queue = Queue(WRITE_BACK_QUEUE, connection=services.connection, serializer=JSONSerializer)
    correct_priority(services, "x:2", "P1", "every model setting is ignored", "rosa")
    (job,) = [job for job in queue.jobs if job.func is tell_bots_of_correction]
    assert recorder.seen == [("x:2", None)]  # told by the worker's job, not in the request
    tell_bots_of_correction(services, *job.args)
    assert recorder.seen[-1] == ("x:2", "P1")
    assert "bot broken could not take the correction of x:2" in caplog.text


def test_a_worker_has_every_bot_each_a_dry_run_until_set():
    from hark.settings import Settings
    from hark.wiring import channel_bots

    bots = channel_bots(Settings(_env_file=None))
    assert {bot.name for bot in bots} >= {"email", "volume"} and len(bots) == 4


def test_a_bad_bot_setting_names_its_variable():
    import pytest

    from hark.redis_connection import ConfigError
    from hark.settings import Settings
    from hark.wiring import channel_bots

    with pytest.raises(ConfigError, match="HARK_GITHUB_REPOS"):
        channel_bots(Settings(_env_file=None, github_token="t", github_repos="not-a-repo"))
    with pytest.raises(ConfigError, match="HARK_SMTP"):
        channel_bots(Settings(_env_file=None, smtp_host="mail.example.com"))


def test_hark_run_shortens_the_volume_window_with_the_replay_but_not_below_10_s():
    import pytest

    from hark.run import volume_window_s
    from hark.settings import Settings, SettingsError

    assert volume_window_s(1) == "600" and volume_window_s(60) == "10"
    assert volume_window_s(3600) == "10"  # the e2e tests' speed: 0.17 s would be no window
    with pytest.raises(SettingsError, match="HARK_VOLUME_WINDOW_S"):
        Settings(_env_file=None, volume_window_s=0.5)
