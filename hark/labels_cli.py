"""``hark labels export``: the team's corrections as a labelled corpus.

Each correction a responder made (``desk.corrections``) becomes one JSON line in the shape
of ``tests/data/corpus/*.jsonl`` (id, channel, text, priority, category, kind, reason), so
``hark rules test`` and ``hark model train`` take it as it is, plus where the label came
from: ``source`` "correction", ``who``, ``when`` and ``from`` (the level it had). The
priority is the corrected one. A mention corrected more than once is written once, with
its last correction: a corpus has one label a message, and the last is the team's
verdict. The text is redacted, as every label is kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

import click
from redis import Redis

from desk.corrections import CorrectionLabel, CorrectionStore, latest_per_mention
from hark.running_instance import command_settings


def corpus_line(label: CorrectionLabel) -> dict[str, Any]:
    """A correction as a corpus row."""
    return {
        "id": label.mention_id,
        "channel": label.channel,
        "text": label.text,
        "priority": label.to_priority,
        "category": label.category,
        "kind": label.kind,
        "reason": label.reason,
        "source": "correction",
        "who": label.by,
        "when": label.at.isoformat(),
        "from": label.from_priority,
    }


def export_labels(connection: Redis, out: TextIO) -> int:
    """Write every corrected mention's last label to ``out``; how many were written."""
    labels = latest_per_mention(CorrectionStore(connection).labels())
    for label in labels:
        out.write(json.dumps(corpus_line(label), ensure_ascii=False) + "\n")
    return len(labels)


@click.group()
def labels() -> None:
    """The team's priority corrections, kept as labels."""


@labels.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the corpus to this file (default: standard output).",
)
def export(out: Path | None) -> None:
    """Write every correction as corpus JSON Lines, for `hark rules test` and `hark model
    train` (HARK_REDIS_URL)."""
    from hark.service_cli import _connect_or_exit

    connection = _connect_or_exit(command_settings())
    if out is None:
        written = export_labels(connection, sys.stdout)
    else:
        with out.open("w", encoding="utf-8") as stream:
            written = export_labels(connection, stream)
    click.echo(f"{written} corrected message(s) written", err=True)
