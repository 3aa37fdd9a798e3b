"""Sender-controlled text in log lines (issue 14, item 9): a mention id, an author, a subject
or a URL is chosen by whoever sent the message, so every log line carries it redacted, on one
line and cut to a length; and a worker's log records, RQ's own included, are redacted however
they were written."""

from __future__ import annotations

import io
import logging

import pytest

from vocabulary.loggable import MAX_LOGGED_CHARS, install_log_redaction, loggable

EMAIL, TOKEN = "dana.k@example.com", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
HOSTILE_ID = f"email:m2-{EMAIL}-{TOKEN}"


def test_loggable_redacts_and_caps():
    shown = loggable(HOSTILE_ID)
    assert EMAIL not in shown and TOKEN not in shown and "[email]" in shown
    long = loggable("x:" + "a" * 10_000)
    assert len(long) <= MAX_LOGGED_CHARS and long.endswith("…")
    assert loggable("x:1900000000000000001") == "x:1900000000000000001"
    assert loggable("github:issue-2718281828") == "github:issue-2718281828"


@pytest.mark.parametrize("forged", ["a\nWARNING forged line", "a\rb", "a\x1b[31mred", "a\u2028b"])
def test_loggable_keeps_a_value_on_one_line(forged):
    shown = loggable(forged)
    assert not any(char in shown for char in "\n\r\x1b\u2028")


def test_loggable_of_anything():
    assert loggable(None) == "None" and loggable(42) == "42"
    assert EMAIL not in loggable({"id": HOSTILE_ID})


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("rq.worker", "rq.job", "anything.else")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    factory = logging.getLogRecordFactory()
    yield stream
    logging.setLogRecordFactory(factory)  # the redaction is the worker's, not every test's
    for logger in loggers:
        logger.removeHandler(handler)


def test_a_worker_log_record_is_redacted_however_it_was_written(captured):
    install_log_redaction()
    install_log_redaction()  # installing twice changes nothing
    logging.getLogger("rq.worker").info("%s: %s (%s)", "triage", f"triage {HOSTILE_ID}", "job-1")
    logging.getLogger("rq.job").info(f"raw f-string {HOSTILE_ID}")
    logging.getLogger("anything.else").info("mapping %(id)s", {"id": HOSTILE_ID})
    logging.getLogger("anything.else").info("number %d and %.1f", 7, 2.5)
    try:
        raise ValueError(f"bad mention {HOSTILE_ID}")
    except ValueError:
        logging.getLogger("rq.worker").exception("job failed for %s", HOSTILE_ID)
    logged = captured.getvalue()
    assert EMAIL not in logged and TOKEN not in logged
    assert "triage email:[email]-[secret]" in logged and "number 7 and 2.5" in logged
    assert "ValueError: bad mention email:[email]-[secret]" in logged  # the traceback is kept
