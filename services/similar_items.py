"""What the inbox shows beside a selected item (reads only): the answered items most like it,
with their replies to reuse, and the reports of the same problem on other channels
(``desk.similar``)."""

from __future__ import annotations

from dataclasses import dataclass

from desk.records import QueueItem
from desk.reply_queue import ReplyQueue
from desk.similar import Similar, answered_before, linked_reports
from services.context import Services

ANSWERED_SCAN = 500  # the latest answered items compared


@dataclass(frozen=True)
class Alike:
    answered_before: tuple[Similar, ...]  # only for an item still waiting for its answer
    linked: tuple[Similar, ...]


def alike(services: Services, item: QueueItem) -> Alike:
    queue = ReplyQueue(services.connection)
    answered = queue.recently_answered(ANSWERED_SCAN)
    waiting = queue.all_waiting(services.clock())
    before = answered_before(item, answered) if item.waiting else []
    return Alike(tuple(before), tuple(linked_reports(item, [*waiting, *answered])))
