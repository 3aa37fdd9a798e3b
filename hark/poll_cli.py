"""``hark poll --once | --every SECONDS``: the pollers for the configured sources."""

from __future__ import annotations

import sys
import time

import click
import redis

from hark.cli_errors import say_error
from hark.options import FiniteRange
from hark.redis_connection import ConfigError, connect
from hark.running_instance import command_settings
from hark.wiring import pollers as build_pollers


@click.command()
@click.option("--once", "mode", flag_value="once", help="Poll every source once and exit.")
@click.option(
    "--every",
    "interval",
    type=FiniteRange(min=5, max=86_400),
    default=None,
    help="Poll every SECONDS, until stopped.",
)
def poll(mode: str | None, interval: float | None) -> None:
    """Poll the configured sources (X, the support mailbox, Discord #help) into the triage
    queue."""
    if (mode == "once") == (interval is not None):
        raise click.UsageError("give exactly one of --once or --every SECONDS")
    settings = command_settings()
    try:
        pollers = build_pollers(settings, connect(settings), interval or 60.0)
    except ConfigError as error:
        say_error(f"{error}")
        sys.exit(2)
    while True:
        failed = False
        for poller in pollers:
            try:
                report = poller.poll_once()
            except redis.RedisError as error:  # Redis away: say so, and try again next round
                failed = True
                say_error(f"{poller.source}: Redis unavailable ({error})")
                continue
            click.echo(
                f"{poller.source}: {report.submitted} new, {report.duplicates} already seen, "
                f"{report.skipped} skipped"
            )
            for feed, until in report.paused.items():
                click.echo(f"{feed}: rate limited, paused until {until.isoformat()}")
            for problem in report.errors:
                failed = True
                say_error(f"{poller.source}: {problem}")
        if interval is None:  # --once: checked above to be the other choice
            sys.exit(1 if failed else 0)
        time.sleep(interval)
