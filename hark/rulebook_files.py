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
from typing import TYPE_CHECKING

from rules import LEVELS, Engine, Problem, Rulebook, RulebookError, parse_rulebook

if TYPE_CHECKING:
    from classifier.model_file import TriageModel

log = logging.getLogger(__name__)
MAX_RULEBOOK_BYTES = 10_000_000  # the shipped rulebook is about 47 kB


class RulebookNotFound(RulebookError):
    """No file at the rulebook's path. Said as one sentence with what to do, not as a
    problem at line 1 (``briefly``: without the HARK_RULES advice, for a path given on
    the command line)."""

    def __init__(self, path: Path) -> None:
        reason = "cannot read rulebook: No such file or directory"  # as the Rules page lists it
        super().__init__([Problem(str(path), 1, "-", "-", reason)])
        self.briefly = f"rulebook not found: {path}"
        self.args = (
            f"{self.briefly}; set HARK_RULES to a rulebook file or unset it for the shipped one",
        )


def shipped_rulebook_path() -> Path:
    return Path(str(resources.files("rules") / "data" / "rulebook.yaml"))


def read_rulebook(path: str | os.PathLike, *, with_model: bool = True) -> Engine:
    """Load and compile the rulebook at ``path``; raise ``RulebookError`` on any problem.

    ``with_model=False`` compiles its rules alone (its ``model`` rules left out, its model
    file not read): what an intake needs to pick a mention's lane."""
    path = Path(path)
    try:
        text = _rulebook_text(path)
    except FileNotFoundError:
        raise RulebookNotFound(path) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise RulebookError(
            [Problem(str(path), 1, "-", "-", f"cannot read rulebook: {reason}")]
        ) from None
    rulebook = parse_rulebook(text, str(path))
    if not with_model:
        plain = [rule for rule in rulebook.rules if rule.model is None]
        return Engine(rulebook.model_copy(update={"rules": plain, "model_file": None}))
    model = _second_opinion(path, text, rulebook) if rulebook.model_file else None
    return Engine(rulebook, model)


def model_path(rulebook_path: Path, rulebook: Rulebook) -> Path | None:
    """Where the rulebook's ``model_file`` is: relative to the rulebook's folder."""
    if rulebook.model_file is None:
        return None
    return rulebook_path.parent / rulebook.model_file


def _second_opinion(path: Path, text: str, rulebook: Rulebook) -> TriageModel:
    """The model the rulebook names, checked against what it predicts; a file that is
    missing, corrupt or trained for other levels or categories is one problem at the
    rulebook's ``model_file`` line, saying what to do."""
    # Imported here: scikit-learn takes about a second to import, which commands that
    # read no rulebook (hark --help, settings, users, jobs) need not pay.
    from classifier.model_file import ModelFileError, load_model

    found = model_path(path, rulebook)
    assert found is not None
    try:
        return load_model(found, levels=LEVELS, categories=tuple(rulebook.categories))
    except ModelFileError as error:
        line = next(
            (n for n, row in enumerate(text.splitlines(), 1) if row.startswith("model_file:")), 1
        )
        raise RulebookError([Problem(str(path), line, "-", "model_file", str(error))]) from None


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
    signature: tuple[int, ...]


class RulebookReloader:
    """Holds the active rulebook and re-reads it when the file changes.

    A new version that does not load is refused: the last good rulebook stays active and
    the reason is logged, so a typo in production never leaves the service without rules.
    """

    def __init__(self, path: str | os.PathLike, *, with_model: bool = True) -> None:
        self.path = Path(path)
        self.with_model = with_model  # False: the rules alone (``read_rulebook``)
        self.last_problems: list[Problem] = []
        engine = read_rulebook(self.path, with_model=with_model)
        self._loaded = _Loaded(engine, self._signature(engine))

    @property
    def engine(self) -> Engine:
        return self._loaded.engine

    def current(self) -> Engine:
        """The active rulebook, re-read first if the file changed (a stat() per call)."""
        self.reload_if_changed()
        return self._loaded.engine

    def reload_if_changed(self) -> bool:
        """Reload when the file's mtime or size changed; True when a new rulebook is active."""
        signature = self._signature(self._loaded.engine)
        if signature == self._loaded.signature:
            return False
        try:
            engine = read_rulebook(self.path, with_model=self.with_model)
        except Exception as error:  # whatever goes wrong, the worker keeps working
            self.last_problems = getattr(error, "problems", None) or [
                Problem(str(self.path), 1, "-", "-", f"cannot load: {type(error).__name__}")
            ]
            self._loaded.signature = signature  # do not retry the same broken file every call
            log.error("rulebook %s is invalid; keeping the last good one:\n%s", self.path, error)
            return False
        self.last_problems = []
        self._loaded = _Loaded(engine, self._signature(engine))
        log.info("rulebook %s reloaded: %d rules", self.path, len(engine.rulebook.rules))
        return True

    def _signature(self, engine: Engine) -> tuple[int, ...]:
        """The rulebook's mtime and size, and those of the model file ``engine``'s rulebook
        names: a retrained model is picked up like an edited rulebook (and a bad one
        refused the same way)."""
        files = [self.path]
        found = model_path(self.path, engine.rulebook)
        files += [found] if found else []
        signature: list[int] = []
        for file in files:
            try:
                stat = file.stat()
            except OSError:
                signature += [0, 0]
                continue
            signature += [stat.st_mtime_ns, stat.st_size]
        return tuple(signature)
