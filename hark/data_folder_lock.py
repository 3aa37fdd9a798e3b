"""One ``hark run`` per data folder: an OS lock (``flock``) on ``var/run.lock``.

Two runs on one folder would start two redis-servers appending to one AOF. The lock is the
kernel's: it goes with the process that holds it, however that process ends (kill -9
included), so a crashed run never leaves a stale lock behind. The embedded redis-server
inherits it, so a folder whose Redis outlived its ``hark run`` stays locked too.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "run.lock"


class FolderInUse(RuntimeError):
    """Another process holds the lock; ``pid`` is the one that took it (0 if unknown)."""

    def __init__(self, data_dir: Path, pid: int) -> None:
        self.data_dir, self.pid = data_dir, pid
        if pid and not _alive(pid):
            message = (
                f"{data_dir} is still locked, though the hark run that took it (pid {pid}) "
                f"has ended: its redis-server (working in {data_dir / 'redis'}) still runs; "
                "stop it, or pass another --data-dir"
            )
        else:
            holder = f"pid {pid}" if pid else "another process"
            message = (
                f"hark run is already running in {data_dir} ({holder}): use that one (other "
                "hark commands in this folder find it), stop it first, or pass another "
                "--data-dir"
            )
        super().__init__(message)


class DataFolderLock:
    """Held from ``acquire`` until the process ends or ``release`` is called."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self.descriptor: int | None = None

    def acquire(self) -> DataFolderLock:
        """Take the lock, or raise ``FolderInUse`` at once (never wait for it)."""
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _pid_in(descriptor)
            os.close(descriptor)
            raise FolderInUse(self.data_dir, pid) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self.descriptor = descriptor
        return self

    def release(self) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)  # closing the last descriptor releases the lock
            self.descriptor = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _pid_in(descriptor: int) -> int:
    text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else 0
