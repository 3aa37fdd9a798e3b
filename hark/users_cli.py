"""``hark users add NAME ROLE``: add (or change) a user of the web page in HARK_USERS_FILE.

The password is asked for twice and never echoed; only its hash is written."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
import yaml

from hark.cli_errors import say_error
from hark.private_files import write_private
from hark.running_instance import command_settings
from web.users import NAME, ROLES, UserEntry, UsersFileError, hash_password, load_users

MIN_PASSWORD_LENGTH = 12  # the page's only lock is the password (and a slow hash)


@click.group()
def users() -> None:
    """Manage the web page's users (the file named by HARK_USERS_FILE)."""


@users.command("add")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.password_option(help="The password (asked for when not given).")
def add(name: str, role: str, password: str) -> None:
    """Add NAME with ROLE, or change the role and password of an existing NAME."""
    path = command_settings().users_file
    if not path:
        _fail("set HARK_USERS_FILE to the users file to write")
    file = Path(path)
    if not NAME.fullmatch(name):
        _fail(
            f"{name!r} cannot be a user name: 1 to 64 letters, digits and . _ @ -, "
            "starting with a letter or digit"
        )
    if not password:
        _fail("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        _fail(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters (this one has "
            f"{len(password)}): a passphrase of a few words will do"
        )
    entries = []
    if file.exists() and file.read_bytes().strip():  # an empty (touched) file has no users
        try:
            load_users(file)  # refuse to rewrite a file that does not load
        except UsersFileError as error:
            _fail(str(error))
        entries = (yaml.safe_load(file.read_text()) or {}).get("users", [])
    entries = [entry for entry in entries if entry.get("name") != name]
    entry = UserEntry(name=name, role=role, password_hash=hash_password(password))
    entries.append(entry.model_dump())
    try:
        write_private(file, yaml.safe_dump({"users": entries}, sort_keys=False))
    except OSError as error:
        _fail(f"cannot write {file}: {error.strerror} (HARK_USERS_FILE)")
    click.echo(f"{name} ({role}) saved in {file}")


def _fail(message: str) -> NoReturn:
    say_error(f"{message}")
    sys.exit(2)
