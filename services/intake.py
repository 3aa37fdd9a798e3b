"""Mentions into the pipeline: dedup, then an RQ triage job with a stable id.

Delivery is at-least-once (a source's cursor moves only after ``submit`` returns) and
every step after it is idempotent, so each mention is triaged exactly once in effect:

- ``SET NX`` on the mention id drops redeliveries and re-polls;
- the job id is ``triage:<mention id>``; if a crash left the marker set but no job and no
  stored result, the next submission enqueues again instead of losing the mention.

The job is the service function ``services.triage.triage_mention``, enqueued by reference.
"""

from __future__ import annotations

import hashlib
import time

from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from monitor.mention import Mention
from services.jobs import TRIAGE_QUEUE
from services.triage import triage_mention

TRIAGE_TIMEOUT_S = 10  # a 1 MB message triages in well under a second
SEEN_KEY = "hark:mention:seen:{id}"  # value: when it was first submitted (epoch seconds)
LOST_AFTER_S = 30.0  # a marker this old with no job behind it is a submission that died
STORED_KEY = "hark:mention:{id}"  # written by the triage job (desk.mentions)


def triage_job_id(mention_id: str) -> str:
    """A stable RQ job id (RQ allows only letters, digits, - and _ in ids)."""
    channel = mention_id.split(":", 1)[0]
    return f"triage-{channel}-{hashlib.sha256(mention_id.encode()).hexdigest()[:32]}"


class Intake:
    """Submits mentions for triage on one Redis connection."""

    def __init__(self, connection: Redis, queue_name: str = TRIAGE_QUEUE) -> None:
        self.connection = connection
        self.queue = Queue(queue_name, connection=connection, serializer=JSONSerializer)

    def submit(self, mention: Mention) -> bool:
        """Enqueue ``mention`` unless it was seen before; True when a job was enqueued."""
        now = time.time()
        first_time = self.connection.set(SEEN_KEY.format(id=mention.id), now, nx=True)
        if not first_time and not self._lost(mention.id, now):
            return False
        self.queue.enqueue(
            triage_mention,
            mention.model_dump(mode="json"),
            job_id=triage_job_id(mention.id),
            description=f"triage {mention.id}",  # RQ logs this; the default shows the text
            result_ttl=0,  # the stored mention is the result; keep no job copy
            failure_ttl=30 * 86_400,
            # A worker killed mid-job leaves it abandoned; RQ's cleaning requeues it while
            # retries are left (the job is idempotent). Also covers a Redis blip mid-job.
            retry=Retry(max=3, interval=[0, 10, 60]),
            job_timeout=TRIAGE_TIMEOUT_S,
        )
        return True

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
