"""The Procfile as production runs it: ``honcho start -f Procfile web`` (or, where honcho
is not installed, the Procfile's web command under ``/bin/sh``, as a Procfile platform
runs it) serves gunicorn on ``$PORT`` against a real redis-server, and stopping it leaves
no process behind. Also: ``.env.example`` names every setting and loads cleanly."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hark.embedded_redis import free_port
from hark.settings import Settings

# Whole `hark` processes: the system tier (make test), not make check's loop.
pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
PROCFILE = ROOT / "Procfile"
ENV_EXAMPLE = ROOT / ".env.example"
BIN = Path(sys.executable).parent
PROCESS_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")  # honcho's own Procfile pattern


def procfile() -> dict[str, str]:
    lines = PROCFILE.read_text(encoding="utf-8").splitlines()
    return {m[1]: m[2] for m in map(PROCESS_LINE.match, lines) if m}


def test_procfile_names_the_three_process_types():
    processes = procfile()
    assert list(processes) == ["web", "worker", "poll"]
    assert "'hark.wsgi:create_wsgi_app()'" in processes["web"]
    assert "--bind 0.0.0.0:${PORT:-8000}" in processes["web"]
    for name, command in processes.items():
        program = shlex.split(command.removeprefix("exec "))[0]
        assert shutil.which(program, path=str(BIN)), f"{name}: {program} is not installed"


@pytest.mark.parametrize("name", ["worker", "poll"])
def test_procfile_hark_commands_take_their_options(name):
    # click parses every option before --help: an unknown option fails with exit 2.
    argv = shlex.split(procfile()[name])
    result = subprocess.run(
        [str(BIN / argv[0]), *argv[1:], "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------- running the web type


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time in clock ticks) of a live process, else None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[1]), int(fields[19])


def _family(root: int) -> dict[int, int]:
    """``root`` and every descendant: pid -> start time (to tell a reused pid apart)."""
    children: dict[int, list[int]] = {}
    started: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))):
            children.setdefault(stat[1], []).append(int(entry.name))
            started[int(entry.name)] = stat[2]
    family, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in started:
            family[pid] = started[pid]
            todo.extend(children.get(pid, []))
    return family


def _running(family: dict[int, int]) -> list[str]:
    """The processes of ``family`` still running (a zombie has exited: it is not)."""
    left = []
    for pid, start in family.items():
        stat = _proc_stat(pid)
        if stat and stat[2] == start and stat[0] != "Z":
            left.append(f"{pid}: {_cmdline(pid)}")
    return left


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


def _is_gunicorn(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(Path(arg.decode()).name == "gunicorn" for arg in argv[:2])


def _wait_for_answer(port: int, process: subprocess.Popen, log: Path) -> tuple[int, bytes]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the web process exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/mentions", timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing answered on port {port} within 60 s:\n{log.read_text()}")


def test_web_process_serves_on_port_and_stops_cleanly(redis_url, tmp_path):
    if not shutil.which("gunicorn", path=str(BIN)):
        pytest.fail("gunicorn is not installed: it is a runtime dependency (pyproject.toml)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_") and k != "REDIS_URL"}
    env.update(
        HARK_REDIS_URL=redis_url,
        PORT=str(port),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        HOME=str(tmp_path),  # gunicorn >= 24 puts its control socket under ~/.gunicorn
    )
    honcho = shutil.which("honcho", path=str(BIN))
    if honcho:  # -e /dev/null: a developer's .env must not change what is tested
        command = [honcho, "start", "--no-colour", "-e", os.devnull, "-f", str(PROCFILE), "web"]
    else:
        command = ["/bin/sh", "-c", procfile()["web"]]
    log = tmp_path / "web.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    family: dict[int, int] = {}
    try:
        status, body = _wait_for_answer(port, process, log)
        assert status in (401, 503), body
        assert b"HARK_API_TOKEN" in body  # no token configured: the API says what to set
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the master and both workers
            family = _family(process.pid)
            if sum(map(_is_gunicorn, family)) >= 3:
                break
            time.sleep(0.2)
        gunicorns = [pid for pid in family if _is_gunicorn(pid)]
        assert len(gunicorns) == 3, [_cmdline(pid) for pid in family]
    finally:
        family |= _family(process.pid)
        if honcho:
            process.send_signal(signal.SIGINT)  # Ctrl-C: honcho stops every process it runs
        else:
            os.killpg(process.pid, signal.SIGTERM)  # what a Procfile platform sends
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            pytest.fail(f"the web process did not stop within 60 s:\n{log.read_text()}")

    deadline = time.monotonic() + 30  # gunicorn may still be finishing its graceful stop
    while _running(family) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(family), f"left running: {_running(family)}\n{log.read_text()}"
    output = log.read_text()
    assert f"Listening at: http://0.0.0.0:{port}" in output
    assert "GET /api/mentions HTTP/1.1" in output  # --access-logfile -
    assert "Traceback" not in output


# --------------------------------------------------------------------------- .env.example


def _env_example() -> dict[str, str]:
    values, comment = {}, False
    for number, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#"):
            comment = True
            continue
        if not line.strip():
            comment = False
            continue
        name, equals, value = line.partition("=")
        assert equals and re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"line {number}: {line!r}"
        assert comment, f".env.example:{number}: {name} has no comment above it"
        assert name not in values, f".env.example:{number}: {name} again"
        values[name] = value
        comment = False  # one comment line per setting
    return values


def test_env_example_lists_every_setting():
    names = set(Settings(_env_file=None).effective())
    assert set(_env_example()) == names


def test_env_example_leaves_secrets_empty():
    values = _env_example()
    for field, info in Settings.model_fields.items():
        if "SecretStr" in str(info.annotation):
            assert values[f"HARK_{field.upper()}"] == "", f"HARK_{field.upper()} has a value"


def test_env_example_loads_to_the_defaults(monkeypatch):
    """Copied to .env unchanged, every setting is its default (or unset); an empty number,
    flag or URL would be refused or break a process, so those lines carry the default."""
    for name in list(os.environ):
        if name.startswith("HARK_") or name == "REDIS_URL":
            monkeypatch.delenv(name)
    defaults = Settings(_env_file=None).effective()
    for name, value in _env_example().items():
        monkeypatch.setenv(name, value)
    loaded = Settings(_env_file=None).effective()
    unset = {"", "(empty)", "(not set)"}
    for name, default in defaults.items():
        if name == "HARK_REDIS_URL":
            assert loaded[name] == "redis://localhost:6379/0"
        elif default in unset:
            assert loaded[name] in unset, name
        else:
            assert loaded[name] == default, name
