"""``hark run`` hardened (issue 14, items 10, 13 and 14): private data files, a Redis with a
password, other ``hark`` commands that find the running instance, one run per data folder,
a supervised Redis, and a banner printed only once the web server answers."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import redis

from hark.embedded_redis import free_port
from tests.integration.test_triage_quality import hark
from tests.system.test_hark_run import _get, _ours, _start, _stop, _wait_for


def _plain_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    env.pop("REDIS_URL", None)
    return {**env, **extra}


def _hark(directory: Path, *args: str, input: str | None = None, **env: str):
    return subprocess.run(
        [hark(), *args],
        cwd=directory,
        env=_plain_env(**env),
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _loose_modes(var: Path) -> list[str]:
    """Every path under ``var`` (and ``var`` itself) whose mode is not 0700 (folders) or
    0600 (files)."""
    loose = []
    for path in [var, *var.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if mode != wanted:
            loose.append(f"{path.relative_to(var.parent)} {mode:o}")
    return loose


def _redis_server(supervisor: subprocess.Popen) -> psutil.Process:
    for child in psutil.Process(supervisor.pid).children():
        try:
            if "redis-server" in " ".join(child.cmdline()):
                return child
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            continue
    raise AssertionError("no redis-server under hark run")


def _redis_servers_in(folder: Path) -> list[psutil.Process]:
    """The redis-servers working in ``folder`` (each changes into its --dir)."""
    found = []
    for process in psutil.process_iter(["name", "cwd"]):
        if process.info["name"] == "redis-server" and process.info["cwd"] == str(folder):
            found.append(process)
    return found


def _an_older_run_left_loose_modes(directory: Path) -> None:
    """What a run before this fix left: 0755 folders and 0644 logs."""
    logs = directory / "var" / "logs"
    logs.mkdir(parents=True)
    (logs / "web.log").write_text("an old line\n")
    os.chmod(directory / "var", 0o755)
    os.chmod(logs, 0o755)
    os.chmod(logs / "web.log", 0o644)


# One run for the lot (a start takes seconds on a loaded machine): well past 120 s.
@pytest.mark.timeout(300)
def test_a_running_instance_is_private_found_alone_and_kept_up(tmp_path):
    _an_older_run_left_loose_modes(tmp_path)
    port = free_port()
    process, token = _start(tmp_path, port)
    var = tmp_path / "var"
    try:
        _wait_for(lambda: _get(port, "/api/mentions?limit=5", token)["items"])
        # 13: the run says where it is, for the other commands and for people
        run_file = json.loads((var / "run.json").read_text())
        url, redis_port = run_file["redis_url"], run_file["redis_port"]
        password = redis.Redis.from_url(url).connection_pool.connection_kwargs["password"]
        assert password and len(password) >= 20
        assert run_file["port"] == port and run_file["pid"] == process.pid
        assert run_file["users_file"] == str((var / "users.yaml").resolve())

        # 10: every file 0600, every folder 0700 (the AOF, the logs, run.json, secrets)
        assert (var / "redis" / "appendonly.aof").exists()
        assert _loose_modes(var) == []
        # 10: the embedded Redis wants its password
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=redis_port).ping()
        assert redis.Redis.from_url(url).ping()
        assert json.loads((var / "secrets.json").read_text())["redis_password"] == password

        # 13: other commands in the same folder find the run by themselves, and say so
        shown = f"redis://:***@127.0.0.1:{redis_port}"
        said = f"using the running hark run in ./var ({shown}/0)"
        report = _hark(tmp_path, "report")
        assert report.returncode == 0, report.stderr
        assert said in report.stderr and "# " in report.stdout
        added = _hark(tmp_path, "users", "add", "rita", "viewer", "--password", "a-long-passphrase")
        assert added.returncode == 0, added.stderr
        assert "rita" in (var / "users.yaml").read_text()
        settings = _hark(tmp_path, "settings")
        assert f"HARK_REDIS_URL=redis://:********@127.0.0.1:{redis_port}/0" in settings.stdout
        assert f"HARK_USERS_FILE={var.resolve() / 'users.yaml'}" in settings.stdout
        elsewhere = _hark(tmp_path.parent, "report", HARK_DATA_DIR=str(var))
        assert elsewhere.returncode == 0 and shown in elsewhere.stderr
        for result in (report, added, settings, elsewhere):
            assert password not in result.stdout + result.stderr

        # 14: a second run on the same data folder is refused, naming the first
        second = _hark(tmp_path, "run", "--port", str(free_port()))
        assert second.returncode == 2
        assert f"hark run is already running in var (pid {process.pid})" in second.stderr
        assert "API token" not in second.stdout
        assert len(_redis_servers_in(var / "redis")) == 1

        # 14: a dead Redis is started again, on the same port and password
        _redis_server(process).kill()
        assert _wait_for(lambda: _get(port, "/healthz", token)["redis"]["ok"])
        assert _wait_for(lambda: _get(port, "/api/mentions?limit=5", token)["items"])
    finally:
        _stop(process, tmp_path)
    output = process.stdout.read()
    assert "redis-server stopped (exit code -9)" in output and "Starting it again" in output
    assert not (var / "run.json").exists()
    assert _loose_modes(var) == []
    logs = [log.read_text(errors="replace") for log in (var / "logs").iterdir()]
    assert not [text for text in [output, *logs] if password in text]  # masked everywhere


def _banner_and_exit(directory: Path, **env: str) -> tuple[str, int]:
    result = subprocess.run(
        [hark(), "run", "--port", str(free_port())],
        cwd=directory,
        env=_plain_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout + result.stderr, result.returncode


@pytest.mark.timeout(180)
def test_no_credentials_are_printed_when_the_web_server_does_not_come_up(tmp_path):
    said, code = _banner_and_exit(tmp_path, HARK_SECRET_KEY="too-short")
    assert code == 1
    assert "web stopped (exit code 2)" in said and "HARK_SECRET_KEY" in said
    assert "API token" not in said and "log in as" not in said and "Hark is running" not in said
    assert _wait_for(lambda: not _ours(tmp_path), 20)
    assert not (tmp_path / "var" / "run.json").exists()


def test_the_redis_url_is_in_the_banner_masked(tmp_path):
    port = free_port()
    process, _token = _start(tmp_path, port)
    try:
        deadline = time.monotonic() + 30
        banner = []
        for line in process.stdout:
            banner.append(line)
            if "Ctrl-C" in line or time.monotonic() > deadline:
                break
    finally:
        _stop(process, tmp_path)
    password = json.loads((tmp_path / "var" / "secrets.json").read_text())["redis_password"]
    text = "".join(banner)
    assert "Redis: redis://:***@127.0.0.1:" in text and password not in text
