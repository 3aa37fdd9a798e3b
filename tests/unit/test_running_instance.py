"""How other ``hark`` commands find a running ``hark run`` (var/run.json), and the lock
that keeps a data folder to one run (issue 14, items 13 and 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hark.cli import cli
from hark.data_folder_lock import DataFolderLock, FolderInUse
from hark.running_instance import RunningInstance, command_settings, find_running, record

URL = "redis://:s3cret-password@127.0.0.1:6399/0"


@pytest.fixture
def var(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("HARK_REDIS_URL", "REDIS_URL", "HARK_USERS_FILE", "HARK_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "var"
    folder.mkdir()
    return folder


def _record(var, pid: int | None = None) -> None:
    users = str(var.resolve() / "users.yaml")
    record(
        RunningInstance(
            data_dir=var,
            pid=pid or os.getpid(),
            port=8123,
            redis_url=URL,
            users_file=users,
            settings={"HARK_REDIS_URL": URL, "HARK_USERS_FILE": users},
        )
    )


def test_settings_beside_a_run_show_what_it_uses_and_say_so(var):
    _record(var)
    result = CliRunner().invoke(cli, ["settings"])
    assert result.exit_code == 0
    assert "HARK_REDIS_URL=redis://:********@127.0.0.1:6399/0" in result.stdout
    assert f"HARK_USERS_FILE={var.resolve() / 'users.yaml'}" in result.stdout
    note = "using the running hark run in ./var (redis://:***@127.0.0.1:6399/0)"
    assert note in result.stderr and "s3cret" not in result.output
    assert (var / "run.json").stat().st_mode & 0o777 == 0o600


def test_the_environment_wins_over_the_run(var, monkeypatch):
    _record(var)
    monkeypatch.setenv("HARK_REDIS_URL", "redis://elsewhere:6379/0")
    settings = command_settings()
    assert settings.redis_url == "redis://elsewhere:6379/0"
    assert settings.users_file == str(var.resolve() / "users.yaml")  # not set: the run's


def test_hark_data_dir_points_at_a_run_elsewhere(var, tmp_path, monkeypatch):
    _record(var)
    monkeypatch.chdir(tmp_path.parent)
    assert command_settings().redis_url is None
    monkeypatch.setenv("HARK_DATA_DIR", str(var))
    assert command_settings().redis_url == URL


def test_a_run_that_was_killed_is_not_used(var):
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    _record(var, pid=int(ended.stdout))
    assert find_running() is None
    assert command_settings().redis_url is None


@pytest.mark.parametrize("text", ["{", "[]", json.dumps({"pid": 1})])
def test_a_damaged_run_file_is_ignored(var, text):
    (var / "run.json").write_text(text)
    assert find_running() is None


def test_a_data_folder_is_locked_once_and_names_the_holder(tmp_path):
    first = DataFolderLock(tmp_path).acquire()
    with pytest.raises(FolderInUse, match=rf"already running in {tmp_path} \(pid {os.getpid()}\)"):
        DataFolderLock(tmp_path).acquire()
    first.release()
    DataFolderLock(tmp_path).acquire().release()  # free again once released
    assert (tmp_path / "run.lock").stat().st_mode & 0o777 == 0o600


def test_a_lock_outliving_its_run_says_what_still_holds_it(tmp_path):
    held = DataFolderLock(tmp_path).acquire()
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    (tmp_path / "run.lock").write_text(ended.stdout)  # as if the run was killed, Redis kept it
    with pytest.raises(FolderInUse, match=r"still locked, though the hark run .* has ended"):
        DataFolderLock(tmp_path).acquire()
    held.release()
