"""Writing files that hold secrets or password hashes (the users file, ``hark run``'s
generated secrets): readable by their owner only from the first byte, and replaced whole
(a temporary file renamed over the old one), so a crash leaves the old file or the new
one, never half of either."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


PRIVATE_UMASK = 0o077  # new files 0600 and folders 0700, in hark run and every child it starts


def private_folder(path: Path) -> None:
    """Make ``path`` (and its missing parents) a folder only its owner can enter."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)


def make_private(root: Path, entries: tuple[str, ...]) -> None:
    """Close up what an older run left open: ``root`` and its folders 0700, files 0600,
    for ``entries`` of ``root`` only (and everything in those that are folders): a data
    folder given as ``--data-dir .`` must not have the user's own files changed.
    Symbolic links are left alone, and so is what they point to."""
    root.chmod(0o700)
    for entry in entries:
        top = root / entry
        if top.is_symlink() or not top.exists():
            continue
        _chmod_private(top)
        if top.is_dir():
            for folder, folders, files in os.walk(top):  # does not follow links
                for name in (*folders, *files):
                    _chmod_private(Path(folder, name))


def _chmod_private(path: Path) -> None:
    if path.is_symlink():
        return
    try:
        path.chmod(0o700 if path.is_dir() else 0o600)
    except FileNotFoundError:  # a temporary file, gone between listing and chmod
        return
