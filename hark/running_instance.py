"""What a running ``hark run`` tells the other ``hark`` commands: ``var/run.json``.

``hark run`` writes it (mode 0600: it holds the Redis password) once its web server
answers, and removes it when it stops: the settings it gives its children (the embedded
Redis's URL, the users file, the port...). ``hark report``, ``hark users add``, ``hark
settings`` and the other commands that need Redis or the users file read it, from
``./var`` or from ``HARK_DATA_DIR``, for each setting the environment leaves unset, and
say so on stderr with the Redis URL masked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from hark.private_files import write_private
from hark.settings import Settings, masked_url

RUN_FILE = "run.json"
DEFAULT_DATA_DIR = "var"


@dataclass(frozen=True)
class RunningInstance:
    data_dir: Path
    pid: int
    port: int
    redis_url: str
    users_file: str
    settings: dict[str, str]  # HARK_* as the run's children have them

    @property
    def redis_port(self) -> int:
        return int(self.redis_url.rsplit(":", 1)[1].split("/")[0])


def record(instance: RunningInstance) -> None:
    fields = {
        "pid": instance.pid,
        "port": instance.port,
        "redis_url": instance.redis_url,
        "redis_port": instance.redis_port,
        "users_file": instance.users_file,
        "settings": instance.settings,
    }
    write_private(instance.data_dir / RUN_FILE, json.dumps(fields, indent=2))


def forget(data_dir: Path) -> None:
    (data_dir / RUN_FILE).unlink(missing_ok=True)


def find_running(environ: dict[str, str] | None = None) -> RunningInstance | None:
    """The ``hark run`` whose data folder is ``HARK_DATA_DIR`` (or ``./var``), if its
    process is alive; None otherwise (no file, a damaged one, or a run that was killed)."""
    environ = dict(os.environ) if environ is None else environ
    data_dir = Path(environ.get("HARK_DATA_DIR") or DEFAULT_DATA_DIR)
    try:
        fields = json.loads((data_dir / RUN_FILE).read_text(encoding="utf-8"))
        instance = RunningInstance(
            data_dir=data_dir,
            pid=int(fields["pid"]),
            port=int(fields["port"]),
            redis_url=str(fields["redis_url"]),
            users_file=str(fields["users_file"]),
            settings={str(k): str(v) for k, v in dict(fields["settings"]).items()},
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError):
        return None
    return instance if _alive(instance.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not a run of ours
        return False
    return True


def command_settings() -> Settings:
    """The settings for a command run beside ``hark run``: the environment's, with the
    running instance's for every HARK_ variable the environment leaves unset."""
    settings = Settings()
    instance = find_running()
    if instance is None:
        return settings
    taken = _unset_in_environment(instance.settings)
    if not taken:
        return settings
    where = instance.data_dir if os.environ.get("HARK_DATA_DIR") else f"./{instance.data_dir}"
    click.echo(
        f"using the running hark run in {where} ({masked_url(instance.redis_url, '***')})",
        err=True,
    )
    return Settings(**taken)


def _unset_in_environment(values: dict[str, str]) -> dict[str, Any]:
    """``values`` the environment does not set, keyed as ``Settings`` takes them."""
    taken: dict[str, Any] = {}
    for variable, value in values.items():
        if os.environ.get(variable) or (
            variable == "HARK_REDIS_URL" and os.environ.get("REDIS_URL")
        ):
            continue
        name = variable.removeprefix("HARK_").lower()
        taken["HARK_REDIS_URL" if name == "redis_url" else name] = value
    return taken
