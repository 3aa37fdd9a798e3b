"""Reloading a rulebook: a new valid version replaces the old; an invalid one is refused."""

from __future__ import annotations

import logging
import os

from hark.rulebook_files import RulebookReloader
from tests.conftest import RULEBOOK_HEADER

RULE = """rules:
  - {{id: alert, description: d, match: {{keyword: [{word}]}}, priority: P0, weight: 1}}
"""


def _write(path, text, bump):
    path.write_text(text)
    os.utime(path, ns=(bump, bump))  # mtime resolution must not hide a quick edit


def test_reload_picks_up_a_valid_change(tmp_path):
    path = tmp_path / "rules.yaml"
    _write(path, RULEBOOK_HEADER + RULE.format(word="crash"), 1_000_000_000)
    reloader = RulebookReloader(path)
    assert reloader.engine.classify("crash").priority == "P0"
    assert reloader.reload_if_changed() is False  # unchanged file: nothing to do

    _write(path, RULEBOOK_HEADER + RULE.format(word="outage"), 2_000_000_000)
    assert reloader.reload_if_changed() is True
    assert reloader.engine.classify("crash").priority == "P3"
    assert reloader.engine.classify("outage").priority == "P0"


def test_invalid_change_keeps_the_last_good_rulebook_and_logs_why(tmp_path, caplog):
    path = tmp_path / "rules.yaml"
    _write(path, RULEBOOK_HEADER + RULE.format(word="crash"), 1_000_000_000)
    reloader = RulebookReloader(path)

    invalid = RULE.format(word="crash").replace("weight: 1}", "weight: 1, colour: red}")
    _write(path, RULEBOOK_HEADER + invalid, 2_000_000_000)
    with caplog.at_level(logging.ERROR, logger="hark.rulebook_files"):
        assert reloader.reload_if_changed() is False
    assert reloader.engine.classify("crash").priority == "P0"
    assert "keeping the last good one" in caplog.text
    assert "alert: colour: unknown key 'colour'" in caplog.text
    assert [problem.field for problem in reloader.last_problems] == ["colour"]

    _write(path, RULEBOOK_HEADER + RULE.format(word="fixed"), 3_000_000_000)
    assert reloader.reload_if_changed() is True
    assert reloader.last_problems == []
    assert reloader.engine.classify("fixed").priority == "P0"


def test_deleted_file_keeps_the_last_good_rulebook(tmp_path):
    path = tmp_path / "rules.yaml"
    _write(path, RULEBOOK_HEADER + RULE.format(word="crash"), 1_000_000_000)
    reloader = RulebookReloader(path)
    path.unlink()
    assert reloader.reload_if_changed() is False
    assert reloader.engine.classify("crash").priority == "P0"
    assert "cannot read rulebook" in reloader.last_problems[0].message


def test_a_load_that_fails_unexpectedly_still_keeps_the_last_good_rulebook(
    tmp_path, monkeypatch, caplog
):
    """Whatever a new version does to the loader (here a bug in it), the worker keeps
    triaging with the last good rulebook instead of failing every job."""
    path = tmp_path / "rules.yaml"
    _write(path, RULEBOOK_HEADER + RULE.format(word="crash"), 1_000_000_000)
    reloader = RulebookReloader(path)

    def broken_loader(path, *, with_model=True):
        raise RuntimeError("the loader fell over")

    monkeypatch.setattr("hark.rulebook_files.read_rulebook", broken_loader)
    _write(path, RULEBOOK_HEADER + RULE.format(word="outage"), 2_000_000_000)
    with caplog.at_level(logging.ERROR, logger="hark.rulebook_files"):
        assert reloader.reload_if_changed() is False
    assert reloader.engine.classify("crash").priority == "P0"
    assert "keeping the last good one" in caplog.text
    assert "cannot load: RuntimeError" in reloader.last_problems[0].message


def test_an_empty_counter_signal_added_live_is_refused(tmp_path):
    path = tmp_path / "rules.yaml"
    _write(path, RULEBOOK_HEADER + RULE.format(word="crash"), 1_000_000_000)
    reloader = RulebookReloader(path)
    broken = RULE.format(word="crash").replace("weight: 1}", 'weight: 1, negated_by: [""]}')
    _write(path, RULEBOOK_HEADER + broken, 2_000_000_000)
    assert reloader.reload_if_changed() is False
    assert reloader.engine.classify("crash").priority == "P0"
    assert reloader.last_problems[0].message == "a phrase cannot be empty"
