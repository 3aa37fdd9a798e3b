"""``hark worker`` and ``hark web``: the pipeline's processes (``hark replay``: hark/replay.py)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from hark.options import PORT
from hark.redis_connection import ConfigError, connect
from hark.rules_cli import default_rules_path
from hark.settings import Settings
from rules import RulebookError
from vocabulary.channels import CHANNELS


def _connect_or_exit(settings: Settings):
    try:
        return connect(settings)
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
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

    settings = Settings()
    connection = _connect_or_exit(settings)
    rules_path = Path(settings.rules) if settings.rules else default_rules_path()
    try:
        oncall = oncall_config(settings)
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        ok = run_worker(
            connection, rules_path, burst=burst, oncall=oncall, with_scheduler=with_scheduler
        )
    except RulebookError as error:
        click.echo(f"error: the rulebook does not load:\n{error}", err=True)
        sys.exit(2)
    if not ok:
        click.echo("error: jobs failed in this run; `hark jobs list` shows them", err=True)
    sys.exit(0 if ok else 1)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=PORT)
def web(host: str, port: int) -> None:
    """Serve the pages, the JSON API and webhooks (Flask's server; production: the Procfile's
    gunicorn)."""
    from hark.wsgi import build_web_app

    try:
        app = build_web_app(Settings())
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    app.run(host=host, port=port, threaded=True)


def oncall_config(settings: Settings):
    """The pager and windows for this worker: PagerDuty with HARK_PD_ROUTING_KEY, else the
    dry-run pager that only records what it would send."""
    from desk.drafts import load_templates
    from hark.worker import escalation_window
    from oncall.pagerduty import DryRunPager, PagerDutyEvents
    from oncall.runtime import OncallConfig

    key = _secret(settings.pd_routing_key)
    pager = PagerDutyEvents(key, settings.pd_events_url) if key else DryRunPager()
    return OncallConfig(
        pager=pager,
        escalate_after=escalation_window(settings.escalate_after_minutes, settings.launch_day),
        group_window=timedelta(minutes=settings.group_window_minutes),
        public_url=settings.public_url,
        p1_pages=settings.p1_pages,
        **({"page_retries": page_retries(settings.page_retries)} if settings.page_retries else {}),
        replies=load_templates(),
        no_reply=no_reply_pairs(settings.no_reply),
    )


def page_retries(setting: str) -> tuple[int, ...]:
    """``HARK_PAGE_RETRIES="0,5,15,60"`` -> (0, 5, 15, 60): seconds before each retry."""
    try:
        delays = tuple(int(part) for part in setting.split(","))
    except ValueError:
        delays = ()
    if not delays or any(not 0 <= delay <= 86_400 for delay in delays):
        raise ConfigError(
            f"HARK_PAGE_RETRIES: {setting!r} is not a comma-separated list of seconds, "
            "each from 0 to 86400 (e.g. 0,5,15,60,300)"
        )
    return delays


def no_reply_pairs(setting: str) -> frozenset[tuple[str, str]]:
    """``HARK_NO_REPLY="x:praise,*:other"`` -> {("x", "praise"), ("*", "other")}."""
    pairs = set()
    for entry in filter(None, (part.strip() for part in setting.split(","))):
        channel, _, kind = entry.partition(":")
        if not kind:
            raise ConfigError(f"HARK_NO_REPLY: {entry!r} is not channel:kind (e.g. x:praise)")
        if channel not in ("*", *CHANNELS):
            raise ConfigError(
                f"HARK_NO_REPLY: {entry!r} names no channel: use one of {', '.join(CHANNELS)} or *"
            )
        pairs.add((channel, kind))
    return frozenset(pairs)


def x_poster(settings: Settings):
    """The X client that posts approved replies, when all four user-context settings are set."""
    from monitor.x_api import XPoster

    parts = [
        settings.x_api_key,
        settings.x_api_secret,
        settings.x_access_token,
        settings.x_access_token_secret,
    ]
    if not any(parts):
        return None
    if not all(parts):
        raise ConfigError(
            "posting replies on X needs all of HARK_X_API_KEY, HARK_X_API_SECRET, "
            "HARK_X_ACCESS_TOKEN and HARK_X_ACCESS_TOKEN_SECRET"
        )
    return XPoster(*(part.get_secret_value() for part in parts), settings.x_api_url)


def _secret(value) -> str | None:
    return value.get_secret_value() if value else None


@click.command()
@click.option("--day", "period", flag_value="day", default=True, help="The last 24 hours.")
@click.option("--week", "period", flag_value="week", help="The last 7 days.")
def report(period: str) -> None:
    """Print the playbook's daily or weekly support report (Markdown)."""
    from services.support_report import period_report

    connection = _connect_or_exit(Settings())
    click.echo(period_report(connection, period, datetime.now(UTC)))
