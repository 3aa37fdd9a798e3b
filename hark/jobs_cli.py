"""``hark jobs list | retry``: RQ's failed jobs, visible and replayable without RQ's CLI
(which would need to be told about the JSON serializer)."""

from __future__ import annotations

import click
from rq import Queue
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from hark.running_instance import command_settings
from services.jobs import WORKER_QUEUES

QUEUES = WORKER_QUEUES


def _registries(connection):
    for name in QUEUES:
        queue = Queue(name, connection=connection, serializer=JSONSerializer)
        yield name, queue, FailedJobRegistry(queue=queue)


@click.group()
def jobs() -> None:
    """RQ's failed jobs: list them, retry them."""


@jobs.command("list")
def list_failed() -> None:
    """Every failed job, with its description and the end of its error."""
    from hark.service_cli import _connect_or_exit

    connection = _connect_or_exit(command_settings())
    total = 0
    for name, queue, registry in _registries(connection):
        for job_id in registry.get_job_ids():
            job = queue.fetch_job(job_id)
            error = (
                (job.latest_result().exc_string or "").strip().splitlines()[-1:]
                if job and job.latest_result()
                else []
            )
            click.echo(f"{name}  {job_id}  {job.description if job else '?'}  {' '.join(error)}")
            total += 1
    click.echo(f"{total} failed job(s)")


@jobs.command()
@click.option(
    "--queue",
    "only",
    type=click.Choice(QUEUES),
    default=None,
    help="Only this queue's failed jobs.",
)
def retry(only: str | None) -> None:
    """Put failed jobs back in their queue (the jobs are idempotent: retrying is safe)."""
    from hark.service_cli import _connect_or_exit

    connection = _connect_or_exit(command_settings())
    count = 0
    for name, _, registry in _registries(connection):
        if only and name != only:
            continue
        for job_id in registry.get_job_ids():
            registry.requeue(job_id)
            count += 1
    click.echo(f"{count} job(s) requeued; a running worker will take them")
