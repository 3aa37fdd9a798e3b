"""Settings that wire the services: clear errors that name the variable."""

from __future__ import annotations

import pytest

from hark.redis_connection import ConfigError
from hark.settings import Settings
from hark.wiring import no_reply_pairs, page_retries, x_poster


def test_no_reply_pairs():
    assert no_reply_pairs("x:praise, *:other") == {("x", "praise"), ("*", "other")}
    assert no_reply_pairs("") == frozenset()
    with pytest.raises(ConfigError, match="HARK_NO_REPLY: 'praise' is not channel:kind"):
        no_reply_pairs("praise")
    with pytest.raises(ConfigError, match="HARK_NO_REPLY: 'zz:yy' names no channel"):
        no_reply_pairs("x:praise,zz:yy")


def test_page_retries():
    assert page_retries("0, 5,60") == (0, 5, 60)
    for bad in ("", "5,soon", "-1", "99999999999999999999", "86401"):
        with pytest.raises(ConfigError, match=r"HARK_PAGE_RETRIES: .* is not a comma-separated"):
            page_retries(bad)


def test_x_poster_needs_all_four_user_context_settings():
    assert x_poster(Settings(_env_file=None)) is None
    with pytest.raises(ConfigError, match="HARK_X_ACCESS_TOKEN_SECRET"):
        x_poster(Settings(_env_file=None, x_api_key="k", x_api_secret="s", x_access_token="t"))
    complete = Settings(
        _env_file=None,
        x_api_key="k",
        x_api_secret="s",
        x_access_token="t",
        x_access_token_secret="ts",
    )
    assert x_poster(complete) is not None


def test_users_add_writes_only_a_hash(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from hark.cli import cli
    from web.users import load_users

    path = tmp_path / "users.yaml"
    monkeypatch.setenv("HARK_USERS_FILE", str(path))
    runner = CliRunner()
    result = runner.invoke(
        cli, ["users", "add", "maria", "responder", "--password", "s3cret-pw-long"]
    )
    assert result.exit_code == 0, result.output
    assert "s3cret-pw-long" not in path.read_text()
    assert load_users(path).check("maria", "s3cret-pw-long").role == "responder"
    runner.invoke(cli, ["users", "add", "maria", "admin", "--password", "other-pw-long"])
    assert load_users(path).check("maria", "other-pw-long").role == "admin"
    monkeypatch.delenv("HARK_USERS_FILE")
    missing = runner.invoke(cli, ["users", "add", "x", "viewer", "--password", "p-long-enough"])
    assert missing.exit_code == 2 and "HARK_USERS_FILE" in missing.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["alice smith", "admin", "--password", "pw-long-enough"],
            "'alice smith' cannot be a user name",
        ),
        (["", "admin", "--password", "pw-long-enough"], "'' cannot be a user name"),
        (["alice", "admin", "--password", ""], "the password is empty"),
        (["alice", "admin", "--password", "x"], "at least 12 characters (this one has 1)"),
        (
            ["alice", "admin", "--password", "elevenchars"],
            "at least 12 characters (this one has 11",
        ),
    ],
)
def test_users_add_refuses_what_the_web_page_would_not_load(
    tmp_path, monkeypatch, arguments, message
):
    from click.testing import CliRunner

    from hark.cli import cli

    path = tmp_path / "users.yaml"
    monkeypatch.setenv("HARK_USERS_FILE", str(path))
    result = CliRunner().invoke(cli, ["users", "add", *arguments])
    assert result.exit_code == 2 and message in result.output
    assert not path.exists(), "nothing written"


def test_users_add_starts_an_empty_file_and_names_a_missing_folder(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from hark.cli import cli
    from web.users import load_users

    path = tmp_path / "users.yaml"
    path.touch()
    monkeypatch.setenv("HARK_USERS_FILE", str(path))
    runner = CliRunner()
    assert (
        runner.invoke(
            cli, ["users", "add", "ana", "viewer", "--password", "pw-long-enough"]
        ).exit_code
        == 0
    )
    assert load_users(path).check("ana", "pw-long-enough").role == "viewer"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["users.yaml"]  # no temporary left behind
    monkeypatch.setenv("HARK_USERS_FILE", str(tmp_path / "no-such-folder" / "users.yaml"))
    missing = runner.invoke(cli, ["users", "add", "ana", "viewer", "--password", "pw-long-enough"])
    assert missing.exit_code == 2
    assert "cannot write" in missing.output and "No such file or directory" in missing.output


def test_a_user_added_while_the_page_runs_can_log_in(tmp_path, monkeypatch, caplog):
    """`hark users add` writes the file; the running page reads it again when it changes,
    and keeps the users it had when the new file does not load."""
    import os

    from click.testing import CliRunner

    from hark.cli import cli
    from web.users import WatchedUsers

    path = tmp_path / "users.yaml"
    monkeypatch.setenv("HARK_USERS_FILE", str(path))
    runner = CliRunner()
    runner.invoke(cli, ["users", "add", "ana", "admin", "--password", "pw-ana-long-enough"])
    users = WatchedUsers(path)
    assert users.check("rita", "pw-rita-long-enough") is None
    runner.invoke(cli, ["users", "add", "rita", "responder", "--password", "pw-rita-long-enough"])
    os.utime(path, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))  # a later edit
    assert users.check("rita", "pw-rita-long-enough").role == "responder"
    path.write_text("users: [oops\n")
    os.utime(path, ns=(3_000_000_000_000_000_000, 3_000_000_000_000_000_000))
    assert users.check("ana", "pw-ana-long-enough").role == "admin"  # the users loaded before stay
    assert "the users loaded before stay" in caplog.text
