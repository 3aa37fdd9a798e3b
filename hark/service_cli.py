"""``hark worker`` and ``hark web``: the pipeline's processes (``hark replay``: hark/replay.py)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click
import redis

from hark.cli_errors import say_error
from hark.options import PORT
from hark.redis_connection import ConfigError, connect
from hark.running_instance import command_settings
from hark.settings import Settings
from hark.wiring import build_web_app, worker_services_from_settings
from rules import RulebookError
from vocabulary.loggable import install_log_redaction

if TYPE_CHECKING:  # the report's modules are imported only by the command that uses them
    from services.support_report import Period


def _connect_or_exit(settings: Settings) -> redis.Redis:
    try:
        return connect(settings)
    except ConfigError as error:
        say_error(f"{error}")
        sys.exit(2)


@click.command()
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
@click.option(
    "--with-scheduler/--without-scheduler",
    default=True,
    show_default=True,
    help="Also run RQ's scheduler (escalations); ignored with --burst.",
)
def worker(burst: bool, with_scheduler: bool) -> None:
    """Triage mentions and page the on-call (RQ worker on HARK_REDIS_URL)."""
    from hark.worker import run_worker  # rq's worker machinery only where it is used

    settings = command_settings()
    connection = _connect_or_exit(settings)
    try:
        services = worker_services_from_settings(settings, connection)
    except ConfigError as error:
        say_error(f"{error}")
        sys.exit(2)
    except RulebookError as error:
        say_error(f"the rulebook does not load:\n{error}")
        sys.exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    install_log_redaction()  # run_worker does too; here it covers the start as well
    ok = run_worker(services, burst=burst, with_scheduler=with_scheduler)
    if not ok:
        say_error("jobs failed in this run; `hark jobs list` shows them")
    sys.exit(0 if ok else 1)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=PORT)
def web(host: str, port: int) -> None:
    """Serve the pages, the JSON API and webhooks (Flask's server; production: the Procfile's
    gunicorn)."""
    try:
        app = build_web_app(Settings())
    except ConfigError as error:
        say_error(f"{error}")
        sys.exit(2)
    install_log_redaction()  # what senders wrote reaches no log line unredacted
    app.run(host=host, port=port, threaded=True)


@click.command()
@click.option("--day", "period", flag_value="day", default=True, help="The last 24 hours.")
@click.option("--week", "period", flag_value="week", help="The last 7 days.")
def report(period: Period) -> None:  # the two flags' values are the only ones click gives
    """Print the playbook's daily or weekly support report (Markdown)."""
    from hark.wiring import active_rulebook
    from services.support_report import period_report

    settings = command_settings()
    connection = _connect_or_exit(settings)
    try:
        rulebook = active_rulebook(settings).engine.rulebook
    except ConfigError as error:
        say_error(f"{error}")
        sys.exit(2)
    zone = rulebook.business_hours.timezone  # the team's clock, as on the pages
    click.echo(period_report(connection, period, datetime.now(UTC), zone))
