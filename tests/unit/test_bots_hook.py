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


class Broken:
    name = "broken"

    def after_triage(self, services, mention, incident_id) -> None:
        raise RuntimeError("the bot fell over")


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
