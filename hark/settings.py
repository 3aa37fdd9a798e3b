"""Settings from the environment (prefix ``HARK_``); secrets are ``SecretStr``.

Every field is optional here: each process checks only what it uses, and says which
variable to set when something it needs is missing.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

# redis://user:pw@host (the password may itself hold an @) and ?password=pw in the query.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^/\s]*@")
_QUERY_PASSWORD = re.compile(r"([?&](?:password|pass|pwd)=)[^&\s]*", re.IGNORECASE)


def masked_url(text: str, mask: str = "********") -> str:
    """``text`` with the password of any URL in it (user:pw@ or ?password=) replaced by
    ``mask``: what may be printed of a Redis URL."""
    text = _URL_PASSWORD.sub(rf"\1{mask}@", text)
    return _QUERY_PASSWORD.sub(rf"\1{mask}", text)


class SettingsError(ValueError):
    """A ``HARK_`` variable whose value is not of its kind; the message names each one."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARK_", extra="ignore", env_ignore_empty=True)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SettingsError(_described(error)) from None

    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("HARK_REDIS_URL", "REDIS_URL")
    )
    rules: str | None = None
    x_bearer_token: SecretStr | None = None
    x_user_id: str | None = None
    x_username: str | None = None
    x_queries: str | None = None
    x_api_url: str = "https://api.twitter.com"
    # User context (OAuth 1.0a) for posting approved replies from the queue.
    x_api_key: SecretStr | None = None
    x_api_secret: SecretStr | None = None
    x_access_token: SecretStr | None = None
    x_access_token_secret: SecretStr | None = None
    no_reply: str = "x:praise"  # channel:kind pairs (channel may be *) that need no answer
    pd_routing_key: SecretStr | None = None
    pd_events_url: str = "https://events.pagerduty.com"
    pd_api_token: SecretStr | None = None
    pd_api_url: str = "https://api.pagerduty.com"
    pd_schedule_ids: str | None = None
    pd_webhook_secret: SecretStr | None = None
    schedule: str | None = None  # local on-call schedule YAML (used without HARK_PD_API_TOKEN)
    escalate_after_minutes: float = Field(15.0, gt=0, le=10_080, allow_inf_nan=False)
    # Reports of one problem within it share an incident (a week at most).
    group_window_minutes: float = Field(120.0, ge=0, le=10_080, allow_inf_nan=False)
    launch_day: bool = False
    # The window volume spikes are counted in (10 minutes; `hark run` shortens it as it
    # speeds up the launch-day sample).
    volume_window_s: float = Field(600.0, ge=10, le=86_400, allow_inf_nan=False)
    p1_pages: bool = False
    page_retries: str | None = None  # seconds before each retry of a page, e.g. "0,5,15,60"
    public_url: str = "http://127.0.0.1:8000"
    github_webhook_secret: SecretStr | None = None
    # GitHub write-back (labels, comments): a fine-grained token or an App installation
    # token; repositories as owner/name, comma-separated.
    github_token: SecretStr | None = None
    github_repos: str | None = None
    github_api_url: str = "https://api.github.com"
    # Discord #help: the bot's token, the channel or forum ids to read, whose ✅ counts.
    discord_bot_token: SecretStr | None = None
    discord_channel_ids: str | None = None
    discord_staff_ids: str | None = None
    discord_api_url: str = "https://discord.com/api/v10"
    # The support mailbox's auto-reply (RFC 3834), through SMTP.
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65_535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    imap_host: str | None = None
    imap_port: int = Field(993, ge=1, le=65_535)
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_mailbox: str = "INBOX"
    imap_cafile: str | None = None
    api_token: SecretStr | None = None
    secret_key: SecretStr | None = None  # signs the web page's sessions (32+ characters)
    users_file: str | None = None  # the web page's users (web/users.py format)
    insecure_cookies: bool = False  # only for http://127.0.0.1 development (hark run)
    metrics_public: bool = False  # GET /metrics without the API token
    # Proxies in front of `hark web` that append the client's address to X-Forwarded-For
    # (0: none, and the header is ignored, since any client can write it).
    trusted_proxies: int = Field(0, ge=0, le=5)

    def effective(self) -> dict[str, str]:
        """Every setting as the environment variable that sets it, secrets masked."""
        shown = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else "(empty)"
            elif isinstance(value, str):
                value = masked_url(value)  # redis://:pw@host
            shown[f"HARK_{name.upper()}"] = "(not set)" if value is None else str(value)
        return shown


def _described(error: ValidationError) -> str:
    """One line per wrong variable: its name, its value (unless secret) and what it needs."""
    lines = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else "?"
        field = Settings.model_fields.get(name)
        secret = field is not None and "SecretStr" in str(field.annotation)
        shown = "" if secret else f"={problem.get('input')!r}"
        lines.append(f"HARK_{name.upper()}{shown}: {problem['msg']}")
    return "; ".join(lines)
