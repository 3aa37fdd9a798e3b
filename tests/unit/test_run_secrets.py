"""``hark run``'s generated secrets and admin login (hark/run.py): private files, made
once, remade when the users file is gone, and a damaged secrets file explained."""

from __future__ import annotations

import json

import click
import pytest

from hark.run import _secrets
from web.users import load_users


def test_the_first_run_makes_private_files_and_later_runs_keep_them(tmp_path):
    values = _secrets(tmp_path)
    for name in ("secrets.json", "users.yaml"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    assert load_users(tmp_path / "users.yaml").check("admin", values["admin_password"])
    assert _secrets(tmp_path) == values


def test_a_deleted_users_file_is_made_again_for_the_announced_login(tmp_path):
    values = _secrets(tmp_path)
    (tmp_path / "users.yaml").unlink()
    assert _secrets(tmp_path) == values
    assert load_users(tmp_path / "users.yaml").check("admin", values["admin_password"])


@pytest.mark.parametrize("damage", ["{not json", "[]", json.dumps({"api_token": "x"})])
def test_a_damaged_secrets_file_says_what_to_delete(tmp_path, damage):
    _secrets(tmp_path)
    (tmp_path / "secrets.json").write_text(damage)
    with pytest.raises(click.ClickException, match=r"is damaged: delete it and .*users\.yaml"):
        _secrets(tmp_path)


def test_a_lost_secrets_file_makes_a_users_file_for_the_new_login(tmp_path):
    _secrets(tmp_path)
    (tmp_path / "secrets.json").unlink()
    values = _secrets(tmp_path)  # new secrets, and the announced admin password works
    assert load_users(tmp_path / "users.yaml").check("admin", values["admin_password"])


def test_the_embedded_redis_gets_a_password_kept_with_the_other_secrets(tmp_path):
    values = _secrets(tmp_path)
    assert len(values["redis_password"]) >= 24
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert stored["redis_password"] == values["redis_password"]


def test_a_secrets_file_from_before_the_redis_password_gets_one_and_keeps_the_rest(tmp_path):
    older = {"api_token": "t" * 32, "secret_key": "k" * 43, "admin_password": "a" * 16}
    (tmp_path / "secrets.json").write_text(json.dumps(older))
    values = _secrets(tmp_path)
    assert {name: values[name] for name in older} == older and values["redis_password"]
    assert _secrets(tmp_path) == values  # kept from now on
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600


def test_an_empty_redis_password_is_damage_not_no_password(tmp_path):
    values = _secrets(tmp_path)
    (tmp_path / "secrets.json").write_text(json.dumps({**values, "redis_password": ""}))
    with pytest.raises(click.ClickException, match="is damaged"):
        _secrets(tmp_path)
