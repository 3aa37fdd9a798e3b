"""The one place where each process's services are built from the settings: the web app
(``hark web`` and gunicorn), the worker (``hark worker``), the pollers and ``hark run``'s
children all come through here, so that a setting means the same thing in every process
(``HARK_PAGE_RETRIES`` applies to pages queued by the web page's Acknowledge as much as to
the worker's triggers)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import redis
from flask import Flask
from pydantic import SecretStr

from desk.config import DeskConfig
from desk.drafts import load_templates
from desk.volume import SpikeRule
from hark.discord_wiring import discord_bot_from, discord_poller_from
from hark.redis_connection import ConfigError, connect
from hark.rulebook_files import RulebookReloader, shipped_rulebook_path
from hark.settings import Settings
from monitor.discord_poller import DiscordPoller
from monitor.imap_source import ImapPoller, ImapSettings
from monitor.smtp_sender import SmtpSettingsError
from monitor.store import MonitorState
from monitor.x_api import XApi, XPoster
from monitor.x_poller import XPoller
from oncall.config import DEFAULT_PAGE_RETRIES, OncallConfig, Pager
from oncall.pagerduty import DryRunPager, PagerDutyEvents, PagerDutyRest
from oncall.pagerduty_rotation import PagerDutyRotation
from oncall.rotation import LocalRotation, ScheduleError
from rules import Engine, RulebookError
from services.awareness import VolumeWatch
from services.context import ChannelBot, Services, utc_now
from services.github_bot import github_bot_from
from services.intake import Intake
from services.mail_bot import mail_bot_from
from vocabulary.channels import CHANNELS

log = logging.getLogger(__name__)

ESCALATE_AFTER_ON_LAUNCH_DAY = timedelta(minutes=5)  # the playbook's launch-day window
RULEBOOK_DOES_NOT_LOAD = "the rulebook does not load:"  # `hark worker` says it too


def secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def rulebook_path(settings: Settings) -> Path:
    return Path(settings.rules) if settings.rules else shipped_rulebook_path()


def explaining_rulebook(settings: Settings) -> Callable[[], Engine]:
    """The rulebook with its model, for the Rules page's "explain this text" and for
    corrections: read the first time a page asks (the web process does not triage, and
    need not import scikit-learn to start), then re-read when either file changes. A model
    that does not load raises ``RulebookError``, which the Rules page shows."""
    loaded: list[RulebookReloader] = []

    def current() -> Engine:
        if not loaded:
            loaded.append(RulebookReloader(rulebook_path(settings), with_model=True))
        return loaded[0].current()

    return current


def active_rulebook(settings: Settings, *, with_model: bool = False) -> RulebookReloader:
    """The rulebook (HARK_RULES, or the shipped one), re-read when its file changes (the last
    good one kept). When it does not load at start, a ``ConfigError`` with the worker's
    message: every process that accepts mentions classifies them (to pick their lane), so
    each refuses to start without its rulebook, and says so the same way.

    The rules alone, without the model: the lane is a head start for what the rules call
    P0 (a P0 the model alone suspects is a low-urgency one, and takes the normal lane),
    and intake stays fast, in processes that never import scikit-learn."""
    try:
        return RulebookReloader(rulebook_path(settings), with_model=with_model)
    except RulebookError as error:
        raise ConfigError(f"{RULEBOOK_DOES_NOT_LOAD}\n{error}") from None


def intake(settings: Settings, connection: redis.Redis) -> Intake:
    """What accepts mentions in ``hark replay`` and ``hark poll``: it classifies each with
    the active rulebook, so that P0s take the fast lane (``services.intake``)."""
    return Intake(connection, active_rulebook(settings).current)


def shipped_schedule_path() -> Path:
    return Path(str(resources.files("oncall") / "data" / "schedule.yaml"))


# -- on-call and desk settings -------------------------------------------------------------


def oncall_config(settings: Settings) -> OncallConfig:
    """Windows, links and the retry schedule; raises ``ConfigError`` naming the variable."""
    escalate_after = (
        ESCALATE_AFTER_ON_LAUNCH_DAY
        if settings.launch_day
        else timedelta(minutes=settings.escalate_after_minutes)
    )
    return OncallConfig(
        escalate_after=escalate_after,
        group_window=timedelta(minutes=settings.group_window_minutes),
        public_url=settings.public_url,
        p1_pages=settings.p1_pages,
        page_retries=page_retries(settings.page_retries)
        if settings.page_retries
        else DEFAULT_PAGE_RETRIES,
    )


def pager(settings: Settings) -> Pager:
    """PagerDuty with HARK_PD_ROUTING_KEY, else the dry run that only records what it would send."""
    key = secret(settings.pd_routing_key)
    return PagerDutyEvents(key, settings.pd_events_url) if key else DryRunPager()


def desk_config(settings: Settings) -> DeskConfig:
    return DeskConfig(replies=load_templates(), no_reply=no_reply_pairs(settings.no_reply))


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


def x_poster(settings: Settings) -> XPoster | None:
    """The X client that posts approved replies, when all four user-context settings are set."""
    parts = [
        secret(settings.x_api_key),
        secret(settings.x_api_secret),
        secret(settings.x_access_token),
        secret(settings.x_access_token_secret),
    ]
    if not any(parts):
        return None
    key, key_secret, token, token_secret = parts
    if not (key and key_secret and token and token_secret):
        raise ConfigError(
            "posting replies on X needs all of HARK_X_API_KEY, HARK_X_API_SECRET, "
            "HARK_X_ACCESS_TOKEN and HARK_X_ACCESS_TOKEN_SECRET"
        )
    return XPoster(key, key_secret, token, token_secret, settings.x_api_url)


def rotation(settings: Settings) -> PagerDutyRotation | LocalRotation:
    """Who is on call: PagerDuty's ``/oncalls`` with HARK_PD_API_TOKEN, else the local
    schedule (HARK_SCHEDULE, default the shipped example)."""
    token = secret(settings.pd_api_token)
    if token:
        schedule_ids = [s.strip() for s in (settings.pd_schedule_ids or "").split(",") if s.strip()]
        return PagerDutyRotation(PagerDutyRest(token, settings.pd_api_url), schedule_ids)
    path = Path(settings.schedule) if settings.schedule else shipped_schedule_path()
    try:
        return LocalRotation.from_yaml(path.read_text(encoding="utf-8"), str(path))
    except OSError as error:
        raise ConfigError(f"HARK_SCHEDULE: cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"HARK_SCHEDULE: {path} is not UTF-8 text") from None
    except ScheduleError as error:
        raise ConfigError(f"HARK_SCHEDULE is invalid:\n{error}") from None


# -- the poll process -------------------------------------------------------------------------


def _require_http_url(variable: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{variable}: {url!r} is not an http(s) URL such as https://api.x.com")


def pollers(
    settings: Settings, connection: redis.Redis, interval_s: float
) -> list[XPoller | ImapPoller | DiscordPoller]:
    """One poller per configured source, with an intake on the active rulebook; a
    ConfigError names what to set (or says that the rulebook does not load)."""
    mention_sink, state = intake(settings, connection), MonitorState(connection)
    clock = utc_now
    found: list[XPoller | ImapPoller | DiscordPoller] = []
    if settings.x_bearer_token:
        queries = [q.strip() for q in (settings.x_queries or "").split(";") if q.strip()]
        if not (settings.x_user_id or settings.x_username or queries):
            raise ConfigError(
                "HARK_X_BEARER_TOKEN is set but nothing to watch: set HARK_X_USER_ID or "
                "HARK_X_USERNAME, and/or HARK_X_QUERIES (searches separated by ';')"
            )
        _require_http_url("HARK_X_API_URL", settings.x_api_url)
        api = XApi(settings.x_bearer_token.get_secret_value(), settings.x_api_url, time.time)
        found.append(
            XPoller(
                api,
                mention_sink,
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
        found.append(ImapPoller(imap, mention_sink, state, clock, interval_s=interval_s))
    discord = discord_poller_from(settings, mention_sink, state, interval_s)
    if discord is not None:
        _require_http_url("HARK_DISCORD_API_URL", settings.discord_api_url)
        found.append(discord)
    if not found:
        raise ConfigError(
            "no source to poll: set HARK_X_BEARER_TOKEN (with HARK_X_USER_ID or "
            "HARK_X_USERNAME, or HARK_X_QUERIES), and/or HARK_IMAP_HOST, and/or "
            "HARK_DISCORD_BOT_TOKEN with HARK_DISCORD_CHANNEL_IDS"
        )
    return found


# -- each process's services -----------------------------------------------------------------


def worker_services(
    connection: redis.Redis,
    rules: Path | RulebookReloader,
    *,
    oncall: OncallConfig | None = None,
    desk: DeskConfig | None = None,
    pager: Pager | None = None,
    bots: tuple[ChannelBot, ...] = (),
) -> Services:
    """A worker's services: the rulebook at ``rules``, reloaded when the file changes (the
    last good one kept); raises ``RulebookError`` when it does not load at start. A reloader
    already holding it may be passed instead (tests share one: a read takes about 0.2 s)."""
    reloader = rules if isinstance(rules, RulebookReloader) else RulebookReloader(rules)
    return Services(
        connection=connection,
        oncall=oncall or OncallConfig(),
        desk=desk or DeskConfig(),
        pager=pager or DryRunPager(),
        engine=reloader.current,
        bots=bots,
    )


def worker_services_from_settings(settings: Settings, connection: redis.Redis) -> Services:
    return worker_services(
        connection,
        rulebook_path(settings),
        oncall=oncall_config(settings),
        desk=desk_config(settings),
        pager=pager(settings),
        bots=channel_bots(settings),
    )


def channel_bots(settings: Settings) -> tuple[ChannelBot, ...]:
    """The channels that talk back, each a dry run until its settings are set."""
    try:
        mail = mail_bot_from(settings)
    except SmtpSettingsError as error:
        raise ConfigError(str(error)) from None
    volume = VolumeWatch(
        page_spikes=settings.launch_day,
        rule=SpikeRule(window=timedelta(seconds=settings.volume_window_s)),
    )
    try:
        github = github_bot_from(
            secret(settings.github_token), settings.github_repos, settings.github_api_url
        )
    except ValueError as error:  # HARK_GITHUB_REPOS: an entry that is not owner/name
        raise ConfigError(str(error)) from None
    return (mail, discord_bot_from(settings), github, volume)


def web_services(
    settings: Settings,
    connection: redis.Redis,
    poster: XPoster | None,
    engine: Callable[[], Engine],
) -> Services:
    """The web process's: it pages (Acknowledge, Resolve) with the worker's settings,
    drafts with the same templates and posts approved replies on X with ``poster``
    (``x_poster(settings)``). It triages nothing, but the mentions it accepts (the API,
    the GitHub webhook) are classified with ``engine`` (``active_rulebook(settings).current``)
    to pick their lane (``Intake.for_services``)."""
    return Services(
        connection=connection,
        oncall=oncall_config(settings),
        desk=desk_config(settings),
        pager=pager(settings),
        x_poster=poster,
        engine=engine,
    )


def build_web_app(settings: Settings) -> Flask:
    """The Flask app for ``settings``: the rotation (PagerDuty or the local schedule), the
    X reply poster (all four user-context settings or none), then Redis. Raises
    ``ConfigError`` naming the variable when a setting is wrong."""
    from web import create_app
    from web.users import UsersFileError, WatchedUsers

    who_is_on_call, poster = rotation(settings), x_poster(settings)
    if settings.secret_key and not settings.users_file:
        log.warning(
            "HARK_SECRET_KEY is set but HARK_USERS_FILE is not: nobody can log in to the page; "
            "add users with `hark users add NAME ROLE` and set HARK_USERS_FILE to that file"
        )
    try:
        users = WatchedUsers(settings.users_file) if settings.users_file else None
    except UsersFileError as error:
        raise ConfigError(str(error)) from None
    rulebook = active_rulebook(settings)
    connection = connect(settings)
    try:
        return create_app(
            redis=connection,
            services=web_services(settings, connection, poster, rulebook.current),
            rotation_source=who_is_on_call,
            api_token=secret(settings.api_token),
            github_webhook_secret=secret(settings.github_webhook_secret),
            pagerduty_webhook_secret=secret(settings.pd_webhook_secret),
            secret_key=secret(settings.secret_key),
            users=users,
            insecure_cookies=settings.insecure_cookies,
            rulebook=explaining_rulebook(settings),
            team_timezone=rulebook.engine.rulebook.business_hours.timezone,
            trusted_proxies=settings.trusted_proxies,
            metrics_public=settings.metrics_public,
        )
    except ValueError as error:  # e.g. a HARK_SECRET_KEY too short to sign sessions
        raise ConfigError(str(error)) from None
