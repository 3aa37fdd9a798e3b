"""``hark replay``: recorded messages through the real pipeline, at once or paced.

Each line is the ``POST /api/mentions`` shape (``IncomingMessage``), optionally with
``offset_s``: the seconds after the start of the recording when it was posted. With
``--speed FACTOR`` a line is submitted ``offset_s / FACTOR`` seconds after the replay started
(a line without ``offset_s`` at once, as it is), and a paced line's ``created_at`` is the
moment it is submitted, so the page fills relative to the clock. ``--launch-day`` plays
the bundled launch-day sample (``hark/data/launch_day.jsonl``, made by
``hark.launch_day_sample``): ``hark replay --launch-day --speed 60`` is launch day's twelve
hours in twelve minutes.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import click
import redis

from hark.cli_errors import say_error
from hark.json_lines import BadJson, parse_json
from hark.options import FiniteRange
from hark.redis_connection import ConfigError, connect
from hark.running_instance import command_settings
from hark.wiring import intake as build_intake
from monitor.mention import InvalidMessage, Mention, incoming_mention

OFFSET_FIELD = "offset_s"
COUNTS = ("enqueued", "duplicate", "refused")


def launch_day_sample() -> Traversable:
    """The bundled launch-day sample (package data of ``hark``)."""
    return resources.files("hark") / "data" / "launch_day.jsonl"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _offset(payload: Any) -> float | None:
    """Remove ``offset_s`` from a message (it is not part of ``IncomingMessage``)."""
    if not isinstance(payload, dict) or OFFSET_FIELD not in payload:
        return None
    offset = payload.pop(OFFSET_FIELD)
    valid = isinstance(offset, int | float) and not isinstance(offset, bool)
    if not valid or not math.isfinite(offset) or offset < 0:
        raise InvalidMessage(f"{OFFSET_FIELD}: must be a number of seconds, 0 or more")
    return float(offset)


def replay_lines(
    lines: Iterable[bytes | str],
    submit: Callable[[Mention], bool],
    *,
    speed: float | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = _utc_now,
    refused: Callable[[int, str], Any] = lambda number, reason: None,
    counts: dict[str, int] | None = None,
) -> dict[str, int]:
    """Submit each line's message; counts of ``enqueued``, ``duplicate`` and ``refused``.

    Without ``speed`` every line goes at once (``offset_s`` is ignored). With it, a line is
    due ``offset_s / speed`` seconds after the start by ``clock``; ``sleep`` waits for it
    (lines are taken in file order: one due earlier than the line before goes at once).
    A line that does not validate is refused at once, with its 1-based number and reason.
    ``counts``, when given, is updated as lines go (so a caller interrupted sees progress).
    """
    if speed is not None and speed <= 0:
        raise ValueError("speed must be more than 0")
    if counts is None:
        counts = {}
    for name in COUNTS:
        counts.setdefault(name, 0)
    started = clock()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            payload = parse_json(raw)
            offset = _offset(payload)
            mention = incoming_mention(payload, now())
        except (UnicodeDecodeError, BadJson, InvalidMessage) as error:
            counts["refused"] += 1
            refused(number, str(error))
            continue
        if speed is not None and offset is not None:
            wait = started + offset / speed - clock()
            if wait > 0:
                sleep(wait)
            submitted = now()
            mention = mention.model_copy(update={"created_at": submitted, "received_at": submitted})
        counts["enqueued" if submit(mention) else "duplicate"] += 1
    return counts


@click.command()
@click.argument(
    "path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--launch-day", is_flag=True, help="Replay the bundled launch-day sample instead of PATH."
)
@click.option(
    "--speed",
    type=FiniteRange(min=0.001, max=1_000_000),
    metavar="FACTOR",
    help="Pace the lines by their offset_s, FACTOR times faster than real time "
    "(default: all at once).",
)
def replay(path: Path | None, launch_day: bool, speed: float | None) -> None:
    """Feed recorded mentions (JSON Lines, the POST /api/mentions shape, optionally with
    offset_s) through the real pipeline; already-seen mentions are skipped."""
    if launch_day and path is None:
        source = launch_day_sample()
    elif path is not None and not launch_day:
        source = path
    else:
        raise click.UsageError("give either PATH or --launch-day")
    settings = command_settings()
    try:
        intake = build_intake(settings, connect(settings))  # P0s take the fast lane
    except ConfigError as error:
        say_error(f"{error}")
        sys.exit(2)

    def report(number: int, reason: str) -> None:
        click.echo(f"{source}:{number}: {reason}", err=True)

    counts: dict[str, int] = {}
    try:
        with source.open("rb") as lines:
            replay_lines(lines, intake.submit, speed=speed, refused=report, counts=counts)
    except KeyboardInterrupt:
        click.echo(_summary(counts) + " (interrupted)")
        sys.exit(130)
    except (redis.ConnectionError, redis.TimeoutError) as error:
        done = sum(counts.get(name, 0) for name in COUNTS)
        click.echo(_summary(counts) + " (stopped)")
        say_error(
            f"Redis went away after {done} line(s) ({type(error).__name__}); those "
            "are in; run the same command again once Redis is back (seen mentions are "
            "skipped) and check HARK_REDIS_URL if it lasts"
        )
        sys.exit(1)
    click.echo(_summary(counts))
    sys.exit(1 if counts["refused"] else 0)


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(name, 0)} {name}" for name in COUNTS)
