"""Settings that wire the services: clear errors that name the variable."""

from __future__ import annotations

import pytest

from hark.redis_connection import ConfigError
from hark.service_cli import no_reply_pairs, page_retries, x_poster
from hark.settings import Settings


def test_no_reply_pairs():
    assert no_reply_pairs("x:praise, *:other") == {("x", "praise"), ("*", "other")}
    assert no_reply_pairs("") == frozenset()
    with pytest.raises(ConfigError, match="HARK_NO_REPLY: 'praise' is not channel:kind"):
        no_reply_pairs("praise")


def test_page_retries():
    assert page_retries("0, 5,60") == (0, 5, 60)
    for bad in ("", "5,soon", "-1"):
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
    result = runner.invoke(cli, ["users", "add", "maria", "responder", "--password", "s3cret-pw"])
    assert result.exit_code == 0, result.output
    assert "s3cret-pw" not in path.read_text()
    assert load_users(path).check("maria", "s3cret-pw").role == "responder"
    runner.invoke(cli, ["users", "add", "maria", "admin", "--password", "other-pw"])
    assert load_users(path).check("maria", "other-pw").role == "admin"
    monkeypatch.delenv("HARK_USERS_FILE")
    missing = runner.invoke(cli, ["users", "add", "x", "viewer", "--password", "p"])
    assert missing.exit_code == 2 and "HARK_USERS_FILE" in missing.output
