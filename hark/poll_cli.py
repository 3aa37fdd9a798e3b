"""``hark poll --once | --every SECONDS``: the pollers for the configured sources."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import click
import redis

from hark.options import FiniteRange
from hark.redis_connection import ConfigError, connect
from hark.settings import Settings
from monitor.imap_source import ImapPoller, ImapSettings
from monitor.store import MonitorState
from monitor.x_api import XApi
from monitor.x_poller import XPoller
from services.intake import Intake


def _require_http_url(variable: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{variable}: {url!r} is not an http(s) URL such as https://api.x.com")


def build_pollers(settings: Settings, connection, interval_s: float) -> list:
    """One poller per configured source; a ConfigError names what to set."""
    intake, state = Intake(connection), MonitorState(connection)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    pollers = []
    if settings.x_bearer_token:
        queries = [q.strip() for q in (settings.x_queries or "").split(";") if q.strip()]
        if not (settings.x_user_id or settings.x_username or queries):
            raise ConfigError(
                "HARK_X_BEARER_TOKEN is set but nothing to watch: set HARK_X_USER_ID or "
                "HARK_X_USERNAME, and/or HARK_X_QUERIES (searches separated by ';')"
            )
        _require_http_url("HARK_X_API_URL", settings.x_api_url)
        api = XApi(settings.x_bearer_token.get_secret_value(), settings.x_api_url, time.time)
        pollers.append(
            XPoller(
                api,
                intake,
                state,
                clock,
                time.sleep,
                user_id=settings.x_user_id,
                username=settings.x_username,
                queries=queries,
                interval_s=interval_s,
            )
        )
    if settings.imap_host:
        if not (settings.imap_user and settings.imap_password):
            raise ConfigError(
                "HARK_IMAP_HOST is set: set HARK_IMAP_USER and HARK_IMAP_PASSWORD too"
            )
        if settings.imap_cafile and not Path(settings.imap_cafile).is_file():
            raise ConfigError(
                f"HARK_IMAP_CAFILE: {settings.imap_cafile} is not a readable file "
                "(the PEM certificate of the CA that signed the mail server's certificate)"
            )
        imap = ImapSettings(
            settings.imap_host,
            settings.imap_port,
            settings.imap_user,
            settings.imap_password.get_secret_value(),
            settings.imap_mailbox,
            settings.imap_cafile,
        )
        pollers.append(ImapPoller(imap, intake, state, clock, interval_s=interval_s))
    if not pollers:
        raise ConfigError(
            "no source to poll: set HARK_X_BEARER_TOKEN (with HARK_X_USER_ID or "
            "HARK_X_USERNAME, or HARK_X_QUERIES), and/or HARK_IMAP_HOST"
        )
    return pollers


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
    """Poll the configured sources (X, the support mailbox) into the triage queue."""
    if (mode == "once") == (interval is not None):
        raise click.UsageError("give exactly one of --once or --every SECONDS")
    settings = Settings()
    try:
        pollers = build_pollers(settings, connect(settings), interval or 60.0)
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    while True:
        failed = False
        for poller in pollers:
            try:
                report = poller.poll_once()
            except redis.RedisError as error:  # Redis away: say so, and try again next round
                failed = True
                click.echo(f"{poller.source}: error: Redis unavailable ({error})", err=True)
                continue
            click.echo(
                f"{poller.source}: {report.submitted} new, {report.duplicates} already seen, "
                f"{report.skipped} skipped"
            )
            for feed, until in report.paused.items():
                click.echo(f"{feed}: rate limited, paused until {until.isoformat()}")
            for error in report.errors:
                failed = True
                click.echo(f"{poller.source}: error: {error}", err=True)
        if mode == "once":
            sys.exit(1 if failed else 0)
        time.sleep(interval)
