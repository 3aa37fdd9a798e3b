"""How a ``hark`` command says it failed: one form everywhere, ``Error: <message>`` on
stderr, click's own form for usage errors (which click prints itself)."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

CONFIG_ERROR = 2  # usage, configuration or rule error (hark/cli.py lists the exit codes)


def say_error(message: str) -> None:
    """Print ``Error: message`` on stderr (a command that goes on, or exits by itself)."""
    click.echo(f"Error: {message}", err=True)


def fail(message: str, code: int = CONFIG_ERROR) -> NoReturn:
    """Print ``Error: message`` on stderr and exit with ``code``."""
    say_error(message)
    sys.exit(code)
