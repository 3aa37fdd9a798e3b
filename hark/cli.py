"""The ``hark`` command. Exit codes: 0 ok, 1 runtime failure, 2 usage, config or rule error."""

from __future__ import annotations

import sys

import click

from hark.classify_cli import classify
from hark.jobs_cli import jobs
from hark.labels_cli import labels
from hark.model_cli import model
from hark.poll_cli import poll
from hark.replay import replay
from hark.rules_cli import rules
from hark.run import run
from hark.service_cli import report, web, worker
from hark.settings import Settings, SettingsError
from hark.users_cli import users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hark")
def cli() -> None:
    """Hark: triage what people say about Caro, page the on-call for P0s."""


@cli.command()
def settings() -> None:
    """Print the effective settings, secrets masked."""
    for name, value in Settings().effective().items():
        click.echo(f"{name}={value}")


cli.add_command(rules)
cli.add_command(classify)
cli.add_command(model)
for command in (worker, replay, web, poll, report, run, users, jobs, labels):
    cli.add_command(command)


def main() -> None:
    try:
        cli(prog_name="hark")
    except SettingsError as error:  # whichever command read the settings
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
