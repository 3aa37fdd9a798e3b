"""``hark users add NAME ROLE``: add (or change) a user of the web page in HARK_USERS_FILE.

The password is asked for twice and never echoed; only its hash is written."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import yaml

from hark.settings import Settings
from web.users import ROLES, UsersFileError, hash_password, load_users


@click.group()
def users() -> None:
    """Manage the web page's users (the file named by HARK_USERS_FILE)."""


@users.command("add")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.password_option(help="The password (asked for when not given).")
def add(name: str, role: str, password: str) -> None:
    """Add NAME with ROLE, or change the role and password of an existing NAME."""
    path = Settings().users_file
    if not path:
        click.echo("error: set HARK_USERS_FILE to the users file to write", err=True)
        sys.exit(2)
    file = Path(path)
    entries = []
    if file.exists():
        try:
            load_users(file)  # refuse to rewrite a file that does not load
        except UsersFileError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)
        entries = (yaml.safe_load(file.read_text()) or {}).get("users", [])
    entries = [entry for entry in entries if entry.get("name") != name]
    entries.append({"name": name, "role": role, "password_hash": hash_password(password)})
    file.write_text(yaml.safe_dump({"users": entries}, sort_keys=False))
    file.chmod(0o600)
    click.echo(f"{name} ({role}) saved in {file}")
