"""The channels that talk back, told of each triaged mention, and of each priority a
person corrected.

Each bot (``services.context.ChannelBot``) queues its own write-back job and returns; the
jobs are idempotent (a redelivered mention or a retried job does nothing twice) and a bot
that fails is logged and skipped here, so a write-back never blocks triage or paging.
"""

from __future__ import annotations

import logging

from rq import Queue
from rq.serializers import JSONSerializer

from desk.mentions import MentionStore
from desk.records import StoredMention
from services.context import Services
from services.jobs import WRITE_BACK_QUEUE
from vocabulary.loggable import loggable

_log = logging.getLogger(__name__)


def tell_bots(services: Services, mention: StoredMention, incident_id: str | None) -> None:
    """Hand ``mention`` (stored, triaged) to every bot of ``services``."""
    for bot in services.bots:
        try:
            bot.after_triage(services, mention, incident_id)
        except Exception:  # a bot's bug must not cost the mention its triage
            _log.exception("bot %s could not take %s", bot.name, loggable(mention.id))


def queue_correction_for_bots(services: Services, mention_id: str) -> None:
    """After a person changed ``mention_id``'s priority (in any process): a job on the
    write-back queue tells the worker's bots. Never raises: the correction is kept whatever
    happens here, and a bot that is not told leaves its channel's label as it was."""
    try:
        Queue(WRITE_BACK_QUEUE, connection=services.connection, serializer=JSONSerializer).enqueue(
            tell_bots_of_correction,
            mention_id,
            description="bots told of a correction",
            result_ttl=0,
            failure_ttl=7 * 86_400,
        )
    except Exception:
        _log.exception("the bots could not be told of the correction of %s", loggable(mention_id))


def tell_bots_of_correction(services: Services, mention_id: str) -> None:
    """Job: hand the corrected mention, as it is now, to every bot of the worker."""
    mention = MentionStore(services.connection).get(mention_id)
    if mention is None:
        return
    for bot in services.bots:
        try:
            bot.after_correction(services, mention)
        except Exception:  # one bot's bug must not keep the others from the correction
            _log.exception(
                "bot %s could not take the correction of %s", bot.name, loggable(mention_id)
            )
