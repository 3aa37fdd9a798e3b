"""The ``hark`` command. Exit codes: 0 ok, 1 runtime failure, 2 usage, config or rule error.

Each subcommand lives in its own module and is imported only when it runs: the learned
model's scikit-learn takes over a second to import, and ``hark poll``, ``hark users`` or
``hark --help`` should not wait for it (nor should every process the tests start).
"""

from __future__ import annotations

import importlib
import sys
from typing import NamedTuple

import click

from hark.cli_errors import say_error
from hark.settings import SettingsError


class Subcommand(NamedTuple):
    """Where a subcommand is defined, and its one-line help for ``hark --help`` (a unit
    test checks that this line is the command's own)."""

    target: str  # "module:attribute"
    short_help: str


SUBCOMMANDS: dict[str, Subcommand] = {
    "classify": Subcommand(
        "hark.classify_cli:classify",
        "Read JSONL on stdin (text, optional channel, id...); write it back with priority,"
        " urgency (on a P0: high or low), category, kind, score and rules added.",
    ),
    "jobs": Subcommand("hark.jobs_cli:jobs", "RQ's failed jobs: list them, retry them."),
    "labels": Subcommand(
        "hark.labels_cli:labels", "The team's priority corrections, kept as labels."
    ),
    "model": Subcommand(
        "hark.model_cli:model",
        "Train and evaluate the learned second opinion (the rulebook's `model:` rules).",
    ),
    "poll": Subcommand(
        "hark.poll_cli:poll",
        "Poll the configured sources (X, the support mailbox, Discord #help) into the triage"
        " queue.",
    ),
    "replay": Subcommand(
        "hark.replay:replay",
        "Feed recorded mentions (JSON Lines, the POST /api/mentions shape, optionally with"
        " offset_s) through the real pipeline; already-seen mentions are skipped.",
    ),
    "report": Subcommand(
        "hark.service_cli:report",
        "Print the playbook's daily or weekly support report (Markdown).",
    ),
    "rules": Subcommand("hark.rules_cli:rules", "Check, explain and test rulebooks."),
    "run": Subcommand(
        "hark.run:run",
        "Run everything on this machine with embedded defaults (Ctrl-C stops it all).",
    ),
    "users": Subcommand(
        "hark.users_cli:users",
        "Manage the web page's users (the file named by HARK_USERS_FILE).",
    ),
    "web": Subcommand(
        "hark.service_cli:web",
        "Serve the pages, the JSON API and webhooks (Flask's server; production: the"
        " Procfile's gunicorn).",
    ),
    "worker": Subcommand(
        "hark.service_cli:worker",
        "Triage mentions and page the on-call (RQ worker on HARK_REDIS_URL).",
    ),
}


def load_subcommand(name: str) -> click.Command:
    module_name, attribute = SUBCOMMANDS[name].target.split(":")
    command = getattr(importlib.import_module(module_name), attribute)
    assert isinstance(command, click.Command), SUBCOMMANDS[name].target
    return command


class LazyGroup(click.Group):
    """A group whose subcommands in ``SUBCOMMANDS`` are imported when first invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            return load_subcommand(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list without importing every command for its help line."""
        rows = [(name, SUBCOMMANDS[name].short_help) for name in SUBCOMMANDS]
        for name in super().list_commands(ctx):
            command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hark")
def cli() -> None:
    """Hark: triage what people say about Caro, page the on-call for P0s."""


@cli.command()
def settings() -> None:
    """Print the effective settings, secrets masked."""
    from hark.running_instance import command_settings

    for name, value in command_settings().effective().items():
        click.echo(f"{name}={value}")


def main() -> None:
    try:
        cli(prog_name="hark")
    except SettingsError as error:  # whichever command read the settings
        say_error(f"{error}")
        sys.exit(2)
