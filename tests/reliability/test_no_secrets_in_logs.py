"""No secret and no PII in the logs: known secrets in the settings, known PII in the
messages, every process's output captured and searched for both."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.fakes.pagerduty_server import FakePagerDuty
from tests.fakes.x_server import FakeX
from tests.integration.test_triage_quality import hark

SECRETS = {
    "HARK_X_BEARER_TOKEN": "XBEARER-secret-0000111122223333",
    "HARK_PD_ROUTING_KEY": "PDROUTINGsecret0123456789abcdefX",
    "HARK_API_TOKEN": "api-secret-token-44445555",
    "HARK_GITHUB_WEBHOOK_SECRET": "gh-webhook-secret-6666",
}
PII = [
    "dana.k@example.com",
    "sk-proj-abcdefghijklmnop1234",
    "+1 415 555 0132",
    "/Users/dana.private",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
]


@pytest.fixture
def fakes():
    x, pd = FakeX(SECRETS["HARK_X_BEARER_TOKEN"]).start(), FakePagerDuty().start()
    x.users["CaroCLI"] = {"id": "4242", "username": "CaroCLI"}
    x.mentions = [
        {
            "id": "900",
            "text": "@CaroCLI crashes on launch, write to dana.k@example.com",
            "edit_history_tweet_ids": ["900"],
        }
    ]
    yield x, pd
    x.stop()
    pd.stop()


def test_secrets_and_pii_stay_out_of_every_log(redis_url, tmp_path, fakes):
    x, pd = fakes
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    env.update(
        SECRETS,
        HARK_REDIS_URL=redis_url,
        HARK_X_USERNAME="CaroCLI",
        HARK_X_API_URL=x.url,
        HARK_PD_EVENTS_URL=pd.url,
    )
    feed = tmp_path / "feed.jsonl"
    text = "Caro crashes on launch every time. " + " ".join(PII)
    # The sender chooses the id too: one that carries an e-mail address and a token is logged
    # by the intake (its RQ job's description) and by the worker, and must arrive redacted.
    hostile_id = "m2-dana.k@example.com-ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    feed.write_text(
        json.dumps({"channel": "email", "id": "m1", "text": text})
        + "\n"
        + json.dumps({"channel": "discord", "id": hostile_id, "text": "it crashes on launch"})
        + "\n"
    )
    outputs = []
    for argv in (
        ["replay", str(feed)],
        ["poll", "--once"],
        ["worker", "--burst"],
        ["settings"],
        ["worker", "--burst"],
    ):
        result = subprocess.run(
            [hark(), *argv], env=env, capture_output=True, text=True, timeout=120
        )
        outputs.append(result.stdout + result.stderr)
    logs = "\n".join(outputs)
    assert "enqueued" in logs and "Job OK" in logs  # the processes did log their work
    assert pd.triggers(), "the P0 was paged"
    for name, secret in SECRETS.items():
        assert secret not in logs, f"{name} leaked into the logs"
    for value in PII:
        assert value not in logs, f"{value!r} leaked into the logs"
    sent = b" ".join(request.body for request in pd.requests)
    for value in PII:
        assert value.encode() not in sent, f"{value!r} reached PagerDuty"
    assert "triage discord:[email]-[secret]" in logs  # the hostile id's job was logged, redacted
