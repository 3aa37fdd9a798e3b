"""Rulebooks on disk: the shipped default, loading a path, and reloading safely.

The rule engine itself (``rules/``) does no I/O; this is where files are read.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rules import Engine, Problem, RulebookError, parse_rulebook

log = logging.getLogger(__name__)
MAX_RULEBOOK_BYTES = 10_000_000  # the shipped rulebook is about 47 kB


def shipped_rulebook_path() -> Path:
    return Path(str(resources.files("rules") / "data" / "rulebook.yaml"))


def read_rulebook(path: str | os.PathLike) -> Engine:
    """Load and compile the rulebook at ``path``; raise ``RulebookError`` on any problem."""
    path = Path(path)
    try:
        text = _rulebook_text(path)
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise RulebookError(
            [Problem(str(path), 1, "-", "-", f"cannot read rulebook: {reason}")]
        ) from None
    return Engine(parse_rulebook(text, str(path)))


def _rulebook_text(path: Path) -> str:
    """The file's text; a device, a pipe or a file past ``MAX_RULEBOOK_BYTES`` is refused
    before it is read (``/dev/zero`` would never end, a FIFO would wait for a writer)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file")
    if info.st_size > MAX_RULEBOOK_BYTES:
        raise OSError(errno.EFBIG, f"over {MAX_RULEBOOK_BYTES // 1_000_000} MB")
    return path.read_text(encoding="utf-8")


@dataclass
class _Loaded:
    engine: Engine
    signature: tuple[int, int]


class RulebookReloader:
    """Holds the active rulebook and re-reads it when the file changes.

    A new version that does not load is refused: the last good rulebook stays active and
    the reason is logged, so a typo in production never leaves the service without rules.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.last_problems: list[Problem] = []
        self._loaded = _Loaded(read_rulebook(self.path), self._signature())

    @property
    def engine(self) -> Engine:
        return self._loaded.engine

    def current(self) -> Engine:
        """The active rulebook, re-read first if the file changed (a stat() per call)."""
        self.reload_if_changed()
        return self._loaded.engine

    def reload_if_changed(self) -> bool:
        """Reload when the file's mtime or size changed; True when a new rulebook is active."""
        signature = self._signature()
        if signature == self._loaded.signature:
            return False
        try:
            engine = read_rulebook(self.path)
        except Exception as error:  # whatever goes wrong, the worker keeps working
            self.last_problems = getattr(error, "problems", None) or [
                Problem(str(self.path), 1, "-", "-", f"cannot load: {type(error).__name__}")
            ]
            self._loaded.signature = signature  # do not retry the same broken file every call
            log.error("rulebook %s is invalid; keeping the last good one:\n%s", self.path, error)
            return False
        self.last_problems = []
        self._loaded = _Loaded(engine, signature)
        log.info("rulebook %s reloaded: %d rules", self.path, len(engine.rulebook.rules))
        return True

    def _signature(self) -> tuple[int, int]:
        try:
            stat = self.path.stat()
        except OSError:
            return (0, 0)
        return (stat.st_mtime_ns, stat.st_size)
