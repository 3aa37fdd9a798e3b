"""Closing up a data folder an older ``hark run`` left readable (issue 14, item 10)."""

from __future__ import annotations

import os
import stat

from hark.private_files import make_private
from hark.run import DATA_ENTRIES


def _mode(path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_hark_data_is_closed_up_and_nothing_else_is_touched(tmp_path):
    (tmp_path / "logs").mkdir(mode=0o755)
    (tmp_path / "logs" / "web.log").write_text("line\n")
    (tmp_path / "redis").mkdir(mode=0o755)
    (tmp_path / "redis" / "appendonly.aof").write_text("*1\r\n")
    (tmp_path / "secrets.json").write_text("{}")
    own = tmp_path / "notes.txt"  # --data-dir . : the user's own file
    own.write_text("mine")
    script = tmp_path / "tool.sh"
    script.write_text("#!/bin/sh\n")
    for path in (tmp_path / "logs" / "web.log", tmp_path / "redis" / "appendonly.aof", own):
        os.chmod(path, 0o644)
    os.chmod(script, 0o755)
    os.symlink(own, tmp_path / "logs" / "link")

    make_private(tmp_path, DATA_ENTRIES)

    assert _mode(tmp_path) == 0o700
    for folder in ("logs", "redis"):
        assert _mode(tmp_path / folder) == 0o700
    for file in ("logs/web.log", "redis/appendonly.aof", "secrets.json"):
        assert _mode(tmp_path / file) == 0o600, file
    assert (_mode(own), _mode(script)) == (0o644, 0o755)  # not Hark's: left as they were
