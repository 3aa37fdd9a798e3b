"""How RQ runs the service functions: a job is a service function, referenced by the
function itself when it is enqueued (never by a dotted string), and the worker hands it the
process's ``Services`` as its first argument.

RQ calls ``job.func(*args, **kwargs)``; ``ServiceJob`` calls ``job.func(services, *args,
**kwargs)`` instead, with the ``services`` the worker set on the job before running it.
"""

from __future__ import annotations

from typing import Any

from rq.job import Job

from services.context import Services

TRIAGE_QUEUE = "triage"
# The fast lane: mentions the intake classified P0, so that a P0 in a burst does not wait
# behind the burst (the intake picks the lane; the triage job itself is the same).
P0_TRIAGE_QUEUE = "p0-triage"
PAGING_QUEUE = "paging"
# What the bots write back to the channels (GitHub labels and comments, Discord tags and
# answers, e-mail confirmations): served last, so a slow or rate-limited channel never
# holds up a triage or a page.
WRITE_BACK_QUEUE = "write-back"
# The order a worker serves them in. Paging first: a page is the last step of a P0 already
# triaged (oldest P0 work first), and with grouping a storm of P0 reports pages once, so the
# page never waits behind the storm's other triages. Then the P0 lane, then every other
# triage, and the write-backs last.
WORKER_QUEUES = (PAGING_QUEUE, P0_TRIAGE_QUEUE, TRIAGE_QUEUE, WRITE_BACK_QUEUE)


class ServiceJob(Job):
    services: Services | None = None

    def _execute(self) -> Any:
        if self.services is None:
            raise RuntimeError(
                f"job {self.id} needs the worker's services: run it with `hark worker`"
            )
        if self.func is None:
            raise ValueError(f"job {self.id} names no function")
        return self.func(self.services, *self.args, **self.kwargs)
