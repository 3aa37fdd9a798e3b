"""``hark replay``: the bundled launch-day sample, pacing by ``offset_s``, and the command."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest
import redis
from click.testing import CliRunner
from rq import Queue
from rq.serializers import JSONSerializer

import hark.replay as replay_module
from hark import launch_day_sample as generator
from hark.cli import cli
from hark.replay import launch_day_sample, replay_lines
from hark.rulebook_files import read_rulebook, shipped_rulebook_path
from monitor.mention import IncomingMessage
from services.intake import Intake
from services.jobs import P0_TRIAGE_QUEUE, TRIAGE_QUEUE

# The playbook's "Launch Week Support Plan": expected launch-day volume per channel.
PLAYBOOK_LAUNCH_DAY = {"discord": (50, 100), "github": (20, 30), "x": (30, 50), "email": (10, 20)}
TWELVE_HOURS = 12 * 3600
T0 = datetime(2026, 1, 24, 13, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    with launch_day_sample().open("rb") as lines:  # through importlib.resources, as shipped
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def engine():
    return read_rulebook(shipped_rulebook_path())


# --- the sample -------------------------------------------------------------------------


def test_volumes_are_a_busy_launch_day_by_the_playbook(sample):
    per_channel = Counter(line["channel"] for line in sample)
    assert set(per_channel) == set(PLAYBOOK_LAUNCH_DAY)
    for channel, (low, high) in PLAYBOOK_LAUNCH_DAY.items():
        # at or above the top of the playbook's range, but the same order of magnitude
        assert low < high <= per_channel[channel] <= 2 * high, (channel, per_channel[channel])
    assert 200 <= len(sample) <= 300


def test_every_line_is_an_incoming_message_once_offset_is_removed(sample):
    for line in sample:
        fields = dict(line)
        offset = fields.pop("offset_s")
        assert isinstance(offset, int)
        message = IncomingMessage.model_validate(fields)
        assert message.text.strip() and message.author
        assert set(fields) <= {"channel", "id", "author", "text", "url"}  # no labels


def test_ids_are_unique(sample):
    ids = [f"{line['channel']}:{line['id']}" for line in sample]
    assert len(set(ids)) == len(ids)


def test_offsets_are_sorted_within_twelve_hours(sample):
    offsets = [line["offset_s"] for line in sample]
    assert offsets == sorted(offsets)
    assert offsets[0] >= 0 and offsets[-1] < TWELVE_HOURS


def test_launch_spike_and_a_smaller_lunch_peak(sample):
    per_hour = Counter(line["offset_s"] // 3600 for line in sample)
    average = len(sample) / 12
    assert per_hour[0] > 3 * average  # 8-9 AM: the launch
    lunch = per_hour[4]  # 12-1 PM
    assert per_hour[3] < lunch < per_hour[0]
    assert lunch > per_hour[5]
    assert max(per_hour[hour] for hour in range(6, 12)) < lunch  # the afternoon is quieter


def test_p0_burst_of_crash_on_launch_reports_in_the_first_20_minutes(sample, engine):
    first_20 = [line for line in sample if line["offset_s"] < 20 * 60]
    triages = [engine.classify(line["text"], channel=line["channel"]) for line in first_20]
    crashes = [t for t in triages if t.priority == "P0" and t.rules[0].id == "crash-for-everyone"]
    assert 12 <= len(crashes) <= 20
    assert {line["channel"] for line in first_20} == set(PLAYBOOK_LAUNCH_DAY)


def test_every_priority_is_present(sample, engine):
    priorities = Counter(
        engine.classify(line["text"], channel=line["channel"]).priority for line in sample
    )
    assert all(priorities[p] for p in ("P0", "P1", "P2", "P3"))
    assert priorities["P3"] > priorities["P0"]  # mostly questions, praise and noise


def test_texts_come_from_the_corpus(sample):
    corpus_texts = {row["text"] for row in generator.load_corpus()}
    verbatim = sum(line["text"] in corpus_texts for line in sample)
    assert verbatim >= 0.6 * len(sample)


def test_the_generator_reproduces_the_file_byte_for_byte(tmp_path):
    shipped = launch_day_sample().read_bytes()
    assert generator.render(generator.build_sample(generator.load_corpus())).encode() == shipped
    rewritten = tmp_path / "launch_day.jsonl"
    generator.main(["--output", str(rewritten)])
    assert rewritten.read_bytes() == shipped


# --- pacing -----------------------------------------------------------------------------


class FakeTime:
    """A clock that moves only when slept on (or when told to), and a wall clock with it."""

    def __init__(self) -> None:
        self.t = 100.0  # any monotonic origin
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.t += seconds

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.t - 100.0)


def _lines(*rows: dict) -> list[bytes]:
    return [json.dumps(row).encode() + b"\n" for row in rows]


def _row(number: int, **extra) -> dict:
    return {"channel": "discord", "id": str(number), "text": f"message {number}", **extra}


def test_speed_sends_each_line_at_offset_over_factor():
    fake, submitted = FakeTime(), []

    def submit(mention):
        submitted.append((fake.t - 100.0, mention))
        fake.t += 0.25  # submitting takes time; the schedule does not drift
        return True

    lines = _lines(
        _row(1, offset_s=0),
        _row(2, offset_s=60),
        _row(3, offset_s=60),
        _row(4, offset_s=600.0),
        _row(5),  # no offset: at once
        _row(6, offset_s=30),  # due before the line above it: at once
        _row(7, offset_s=1200, created_at="2020-01-01T00:00:00Z"),
    )
    counts = replay_lines(lines, submit, speed=60, sleep=fake.sleep, clock=fake.clock, now=fake.now)
    assert counts == {"enqueued": 7, "duplicate": 0, "refused": 0}
    assert fake.sleeps == pytest.approx([0.75, 8.5, 9.25])
    assert [at for at, _ in submitted] == pytest.approx([0, 1, 1.25, 10, 10.25, 10.5, 20])
    for at, mention in submitted:
        assert mention.created_at == mention.received_at == T0 + timedelta(seconds=at)
    assert all("offset_s" not in mention.raw for _, mention in submitted)


def test_without_speed_nothing_waits_and_created_at_is_kept():
    fake, submitted = FakeTime(), []
    lines = _lines(_row(1, offset_s=3600), _row(2, created_at="2026-01-24T15:04:05Z"))
    counts = replay_lines(lines, submitted.append, sleep=fake.sleep, clock=fake.clock, now=fake.now)
    assert fake.sleeps == []
    assert counts["refused"] == 0
    assert submitted[0].created_at == T0 and "offset_s" not in submitted[0].raw
    assert submitted[1].created_at == datetime(2026, 1, 24, 15, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("offset", [-1, "60", True, None, float("inf")])
def test_a_bad_offset_is_refused_at_once(offset):
    fake, refused = FakeTime(), []
    line = json.dumps(_row(1, offset_s=offset)).encode()  # inf is written as Infinity
    counts = replay_lines(
        [line],
        lambda mention: pytest.fail("a bad line was submitted"),
        speed=60,
        sleep=fake.sleep,
        clock=fake.clock,
        now=fake.now,
        refused=lambda number, reason: refused.append((number, reason)),
    )
    assert counts["refused"] == 1 and fake.sleeps == []
    expected = (  # Infinity is not JSON: refused before its field is looked at
        "not valid JSON here: Infinity is not a JSON number"
        if offset == float("inf")
        else "offset_s: must be a number of seconds, 0 or more"
    )
    assert refused == [(1, expected)]


def test_speed_must_be_positive():
    with pytest.raises(ValueError):
        replay_lines([], lambda mention: True, speed=0)


def test_launch_day_at_60x_takes_twelve_minutes_and_fills_the_first_minute(sample):
    fake, times = FakeTime(), []

    def submit(mention):
        times.append(fake.t - 100.0)
        return True

    with launch_day_sample().open("rb") as lines:
        counts = replay_lines(
            lines, submit, speed=60, sleep=fake.sleep, clock=fake.clock, now=fake.now
        )
    assert counts == {"enqueued": len(sample), "duplicate": 0, "refused": 0}
    assert times[-1] == pytest.approx(sample[-1]["offset_s"] / 60) and times[-1] <= 12 * 60
    assert sum(at < 20 for at in times) >= 30  # the P0 burst in the first 20 seconds
    assert sum(at < 60 for at in times) >= 60  # launch hour: the page fills within a minute


# --- the command (fakeredis) ----------------------------------------------------------


@pytest.fixture
def fake_redis(monkeypatch):
    connection = fakeredis.FakeRedis()
    monkeypatch.setattr(replay_module, "connect", lambda settings: connection)
    return connection


def _queued(connection) -> list[dict]:
    """Every mention waiting for triage, in either lane."""
    return [
        job.args[0]
        for name in (P0_TRIAGE_QUEUE, TRIAGE_QUEUE)
        for job in Queue(name, connection=connection, serializer=JSONSerializer).get_jobs()
    ]


def test_replay_launch_day_enqueues_the_sample_once(fake_redis, sample):
    runner = CliRunner()
    first = runner.invoke(cli, ["replay", "--launch-day"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == f"{len(sample)} enqueued, 0 duplicate, 0 refused"
    again = runner.invoke(cli, ["replay", "--launch-day"])
    assert again.output.strip() == f"0 enqueued, {len(sample)} duplicate, 0 refused"
    queued = _queued(fake_redis)
    assert len(queued) == len(sample)
    assert all("offset_s" not in mention["raw"] for mention in queued)


def test_replay_file_with_speed_stamps_the_submission_time(fake_redis, tmp_path):
    feed = tmp_path / "feed.jsonl"
    rows = [_row(1, offset_s=0), _row(2, offset_s=1, created_at="2020-01-01T00:00:00Z")]
    feed.write_text("".join(json.dumps(row) + "\n" for row in rows) + "not json\n")
    before = datetime.now(UTC)
    result = CliRunner().invoke(cli, ["replay", str(feed), "--speed", "1000"])  # 1 ms apart
    assert result.exit_code == 1  # the last line is refused
    assert "2 enqueued, 0 duplicate, 1 refused" in result.output
    for mention in _queued(fake_redis):
        created = datetime.fromisoformat(mention["created_at"].replace("Z", "+00:00"))
        assert before <= created <= datetime.now(UTC)


@pytest.mark.parametrize(
    "args",
    [[], ["--launch-day", "feed.jsonl"], ["--launch-day", "--speed", "0"]],
)
def test_replay_usage_errors(fake_redis, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "feed.jsonl").write_text("")
    result = CliRunner().invoke(cli, ["replay", *args])
    assert result.exit_code == 2
    assert _queued(fake_redis) == []


def test_redis_going_away_mid_replay_says_how_far_it_got(fake_redis, tmp_path, monkeypatch):
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(_row(n)) + "\n" for n in range(1, 6)))
    real_submit, submitted = Intake.submit, []

    def submit_until_redis_goes(self, mention):
        if len(submitted) == 3:
            raise redis.ConnectionError("Connection refused.")
        submitted.append(mention.id)
        return real_submit(self, mention)

    monkeypatch.setattr(Intake, "submit", submit_until_redis_goes)
    result = CliRunner().invoke(cli, ["replay", str(feed)])
    assert result.exit_code == 1
    assert "3 enqueued, 0 duplicate, 0 refused (stopped)" in result.output
    assert "Redis went away after 3 line(s)" in result.output
    assert "Traceback" not in result.output and len(_queued(fake_redis)) == 3
