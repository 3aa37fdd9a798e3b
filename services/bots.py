"""The channels that talk back, told of each triaged mention.

Each bot (``services.context.ChannelBot``) queues its own write-back job and returns; the
jobs are idempotent (a redelivered mention or a retried job does nothing twice) and a bot
that fails is logged and skipped here, so a write-back never blocks triage or paging.
"""

from __future__ import annotations

import logging

from desk.records import StoredMention
from services.context import Services
from vocabulary.loggable import loggable

_log = logging.getLogger(__name__)


def tell_bots(services: Services, mention: StoredMention, incident_id: str | None) -> None:
    """Hand ``mention`` (stored, triaged) to every bot of ``services``."""
    for bot in services.bots:
        try:
            bot.after_triage(services, mention, incident_id)
        except Exception:  # a bot's bug must not cost the mention its triage
            _log.exception("bot %s could not take %s", bot.name, loggable(mention.id))
