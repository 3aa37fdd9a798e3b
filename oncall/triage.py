"""The triage job: classify a mention with the active rulebook and store the result.

The job runs in ``hark worker``, which owns the rulebook (and reloads it when the file
changes) and hands it in through ``use_rulebook``; the job itself holds no settings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rq import get_current_job

from oncall.store import MentionStore
from rules import Engine

_engine_source: Callable[[], Engine] | None = None


def use_rulebook(source: Callable[[], Engine]) -> None:
    """Called once by the worker process: where triage jobs get the current engine."""
    global _engine_source
    _engine_source = source


def triage_mention(mention: dict[str, Any]) -> dict[str, Any]:
    """RQ job: triage one mention (a ``Mention`` as JSON) and store it. Idempotent."""
    if _engine_source is None:
        raise RuntimeError(
            "no rulebook in this worker: run triage jobs with `hark worker`, which loads it"
        )
    triage = _engine_source().classify(mention["text"], mention["channel"]).to_dict()
    job = get_current_job()
    MentionStore(job.connection).save(mention, triage, triaged_at=datetime.now(UTC))
    return {"id": mention["id"], "priority": triage["priority"]}
