"""Mentions into the pipeline: dedup, then an RQ triage job with a stable id.

Delivery is at-least-once (a source's cursor moves only after ``submit`` returns) and
every step after it is idempotent, so each mention is triaged exactly once in effect:

- ``SET NX`` on the mention id drops redeliveries and re-polls;
- the job id is ``triage:<mention id>``; if a crash left the marker set but no job and no
  stored result, the next submission enqueues again instead of losing the mention.

The job is the service function ``services.triage.triage_mention``, enqueued by reference.

**The fast lane.** Given the process's active rulebook, the intake classifies each mention
first (the engine is pure and takes microseconds) and puts a P0 on ``P0_TRIAGE_QUEUE``,
which workers serve before the normal triage queue, so a P0 in a burst does not wait behind
the burst. The classification only picks the lane: the triage job classifies again with the
worker's rulebook and stores that, so the stored results are the same in either lane.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from monitor.mention import Mention
from rules import Engine
from services.context import NoRulebook, Services
from services.jobs import P0_TRIAGE_QUEUE, TRIAGE_QUEUE
from services.triage import triage_mention
from vocabulary.loggable import loggable

TRIAGE_TIMEOUT_S = 10  # a 1 MB message triages in well under a second
SEEN_KEY = "hark:mention:seen:{id}"  # value: when it was first submitted (epoch seconds)
LOST_AFTER_S = 30.0  # a marker this old with no job behind it is a submission that died
STORED_KEY = "hark:mention:{id}"  # written by the triage job (desk.mentions)
FAST_LANE_PRIORITY = "P0"
_log = logging.getLogger(__name__)


def triage_job_id(mention_id: str) -> str:
    """A stable RQ job id (RQ allows only letters, digits, - and _ in ids)."""
    channel = mention_id.split(":", 1)[0]
    return f"triage-{channel}-{hashlib.sha256(mention_id.encode()).hexdigest()[:32]}"


class Intake:
    """Submits mentions for triage on one Redis connection.

    ``engine`` returns the active rulebook (``Services.engine``): with it a P0 takes the
    fast lane; without it (``None``) every mention goes on the normal triage queue.
    """

    def __init__(self, connection: Redis, engine: Callable[[], Engine] | None = None) -> None:
        self.connection = connection
        self.engine = engine
        self.queues = {
            name: Queue(name, connection=connection, serializer=JSONSerializer)
            for name in (TRIAGE_QUEUE, P0_TRIAGE_QUEUE)
        }

    @classmethod
    def for_services(cls, services: Services) -> Intake:
        """The intake of a process's services: its connection and its active rulebook."""
        return cls(services.connection, services.engine)

    def submit(self, mention: Mention) -> bool:
        """Enqueue ``mention`` unless it was seen before; True when a job was enqueued."""
        now = time.time()
        first_time = self.connection.set(SEEN_KEY.format(id=mention.id), now, nx=True)
        if not first_time and not self._lost(mention.id, now):
            return False
        self.queues[self.lane(mention)].enqueue(
            triage_mention,
            mention.model_dump(mode="json"),
            job_id=triage_job_id(mention.id),
            # RQ logs the description (its default shows the text); the id is the sender's
            description=f"triage {loggable(mention.id)}",
            result_ttl=0,  # the stored mention is the result; keep no job copy
            failure_ttl=30 * 86_400,
            # A worker killed mid-job leaves it abandoned; RQ's cleaning requeues it (on the
            # queue it came from) while retries are left (the job is idempotent). Also
            # covers a Redis blip mid-job.
            retry=Retry(max=3, interval=[0, 10, 60]),
            job_timeout=TRIAGE_TIMEOUT_S,
        )
        return True

    def lane(self, mention: Mention) -> str:
        """The queue for ``mention``: the P0 lane when the active rulebook says P0.

        The lane is only a head start, so nothing that goes wrong here may cost the mention
        its triage: an engine that fails on it sends it down the normal lane (where the
        triage job classifies it again, and fails visibly in ``hark jobs list`` if the engine
        does), and the failure is logged."""
        if self.engine is None:
            return TRIAGE_QUEUE
        try:
            priority = self.engine().classify(mention.text, mention.channel).priority
        except NoRulebook:  # services built without a rulebook (a test's, say): no lane
            return TRIAGE_QUEUE
        except Exception:
            _log.exception(
                "intake could not classify %s; it takes the normal lane", loggable(mention.id)
            )
            return TRIAGE_QUEUE
        return P0_TRIAGE_QUEUE if priority == FAST_LANE_PRIORITY else TRIAGE_QUEUE

    def _lost(self, mention_id: str, now: float) -> bool:
        """Seen, yet neither queued, running, failed nor stored, by a marker older than a
        submission takes: a crash between the marker and the enqueue. (A younger marker is
        a concurrent submission of the same mention, about to enqueue it.) Enqueueing
        again is safe (stable job id, idempotent job)."""
        if self.connection.exists(STORED_KEY.format(id=mention_id)):
            return False
        if Job.exists(triage_job_id(mention_id), connection=self.connection):
            return False
        marked = self.connection.get(SEEN_KEY.format(id=mention_id))
        if marked is None:
            return True
        try:
            marked_at = float(marked)
        except ValueError:
            return True
        return now - marked_at >= LOST_AFTER_S
