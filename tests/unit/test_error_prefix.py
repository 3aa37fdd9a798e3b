"""Every ``hark`` command says an error the same way: click's own "Error: " form, which its
usage errors print, is the one form (issue 14, item 15)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from hark.cli import cli, main

HARK = Path(__file__).resolve().parents[2] / "hark"


@pytest.fixture(autouse=True)
def _in_an_empty_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./var of a running ``hark run`` here


def _stderr(args: list[str], env: dict[str, str]) -> str:
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code != 0, result.output
    return result.stderr


def _cases(tmp_path: Path) -> list[tuple[list[str], dict[str, str]]]:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    closed = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    return [
        (["users", "add", "bob", "admin", "--password", "x" * 20], {"HARK_USERS_FILE": ""}),
        (["replay"], {}),  # a usage error: click's own message
        (["rules", "explain", "hi"], {"HARK_RULES": str(tmp_path / "nope.yaml")}),
        (["report"], {"HARK_REDIS_URL": closed}),
        (["jobs", "list"], {"HARK_REDIS_URL": closed}),
        (["replay", "--launch-day"], {"HARK_REDIS_URL": closed}),
        (["rules", "test", str(empty)], {}),
        (["model", "train", str(empty), "--out", str(tmp_path / "m.json")], {}),
    ]


@pytest.mark.parametrize("case", range(8))
def test_each_command_begins_its_error_with_the_one_form(case, tmp_path):
    args, env = _cases(tmp_path)[case]
    err = _stderr(args, env)
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    assert errors and all(line.startswith("Error: ") for line in errors), err


def test_a_malformed_setting_uses_the_same_form(monkeypatch, capsys):
    monkeypatch.setenv("HARK_IMAP_PORT", "x")
    monkeypatch.setattr("sys.argv", ["hark", "settings"])
    with pytest.raises(SystemExit):
        main()
    assert capsys.readouterr().err.startswith("Error: HARK_IMAP_PORT='x'")


def test_hark_run_on_a_taken_port_uses_the_same_form(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = _stderr(["run", "--port", str(port)], {})
    assert err.startswith(f"Error: port {port} is in use"), err


def test_no_command_writes_the_lowercase_form():
    """The messages no test above reaches (a full disk, Redis gone mid-replay) too."""
    lowercase = re.compile(r"""["'](?:[^"'\n]*: )?error: """)
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(HARK.glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if lowercase.search(line)
    ]
    assert not found, "\n".join(found)
