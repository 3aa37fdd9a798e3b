"""Discord #help's part of the wiring: the poller for ``hark poll`` and the bot for
``hark worker``, from the settings. Both are off until HARK_DISCORD_BOT_TOKEN and
HARK_DISCORD_CHANNEL_IDS are set; the bot is then a dry run that records what it would do."""

from __future__ import annotations

import time

from hark.redis_connection import ConfigError
from hark.settings import Settings
from monitor.discord_api import DiscordApi
from monitor.discord_poller import DiscordPoller
from monitor.discord_threads import DiscordThreads
from monitor.mention import MentionSink
from monitor.store import MonitorState
from services.context import utc_now
from services.discord_bot import DiscordBot, DiscordResolutions


def id_list(variable: str, setting: str | None) -> list[str]:
    """``"123, 456"`` -> ["123", "456"]; an entry that is not a snowflake is refused."""
    ids = [part.strip() for part in (setting or "").split(",") if part.strip()]
    wrong = [part for part in ids if not part.isdigit()]
    if wrong:
        raise ConfigError(f"{variable}: {wrong[0]!r} is not a Discord id (digits only)")
    return ids


def discord_enabled(settings: Settings) -> bool:
    return bool(settings.discord_bot_token and id_list("", settings.discord_channel_ids))


def discord_api(settings: Settings) -> DiscordApi:
    if settings.discord_bot_token is None:
        raise ConfigError("HARK_DISCORD_BOT_TOKEN is not set")
    return DiscordApi(
        settings.discord_bot_token.get_secret_value(),
        settings.discord_api_url,
        now_s=time.time,
        sleep=time.sleep,
    )


def discord_poller_from(
    settings: Settings, intake: MentionSink, state: MonitorState, interval_s: float = 60.0
) -> DiscordPoller | None:
    """The #help poller, or None while the token or the channel ids are not set."""
    channels = id_list("HARK_DISCORD_CHANNEL_IDS", settings.discord_channel_ids)
    staff = id_list("HARK_DISCORD_STAFF_IDS", settings.discord_staff_ids)
    if not discord_enabled(settings):
        return None
    connection = state.connection
    resolutions = DiscordResolutions(connection)  # a ✅, and a first answer from the team
    return DiscordPoller(
        discord_api(settings),
        intake,
        state,
        DiscordThreads(connection),
        resolutions,
        utc_now,
        channels,
        frozenset(staff),
        interval_s=interval_s,
        answers=resolutions,
    )


def discord_bot_from(settings: Settings) -> DiscordBot:
    """The bot, writing to Discord when enabled, else its dry run."""
    staff = tuple(id_list("HARK_DISCORD_STAFF_IDS", settings.discord_staff_ids))
    api = discord_api(settings) if discord_enabled(settings) else None
    return DiscordBot(api, staff)
