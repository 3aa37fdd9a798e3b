"""The load test's mentions: launch day's traffic, many times over, as distinct messages.

Four in five messages are lines of the bundled launch-day sample (``hark/data/launch_day.jsonl``,
made by ``hark.launch_day_sample``): its channel shares (Discord 100, X 60, GitHub 55,
e-mail 35 of 250) and its P0 share (the launch-day crash burst and the corpus's other P0s,
about one message in seven) are the project's own model of a launch day. The fifth is the
labelled support corpus (``tests/data/corpus/caro-support.jsonl``), ordinary support traffic
in all four channels. Each line is used whole copies at a time, the remainder a seeded
sample (the launch-day file is sorted by time: a prefix would be mostly the P0 burst), then
everything is shuffled, so P0s are spread over the run.

Every copy gets its own native id, in its channel's style (``<id>-r<copy>``, or
``<local>.r<copy>@<domain>`` for an e-mail Message-ID): each message is a new mention to
Intake, none a redelivery. Messages are in the ``IncomingMessage`` shape (``POST
/api/mentions``, ``hark replay``), without ``offset_s``.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAUNCH_DAY = ROOT / "hark" / "data" / "launch_day.jsonl"
CORPUS = ROOT / "tests" / "data" / "corpus" / "caro-support.jsonl"
CORPUS_SHARE = 0.2
INCOMING_FIELDS = ("channel", "id", "author", "text", "url")


def _lines(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [{key: row[key] for key in INCOMING_FIELDS if key in row} for row in rows]


def _copy_id(channel: str, native_id: str, copy: int) -> str:
    if channel == "email" and "@" in native_id:
        local, _, domain = native_id.rpartition("@")
        return f"{local}.r{copy}@{domain}"
    return f"{native_id}-r{copy}"


def _draw(rows: list[dict[str, Any]], count: int, rng: random.Random) -> list[dict[str, Any]]:
    """``count`` messages: whole copies of ``rows``, then a sample of them; unique ids."""
    copies, remainder = divmod(count, len(rows))
    chosen = [(copy, row) for copy in range(copies) for row in rows]
    chosen += [(copies, row) for row in rng.sample(rows, remainder)]
    return [{**row, "id": _copy_id(row["channel"], row["id"], copy)} for copy, row in chosen]


def load_messages(count: int, seed: int = 100) -> list[dict[str, Any]]:
    """``count`` launch-day and support messages in a seeded random order, ids unique."""
    rng = random.Random(seed)
    from_corpus = round(count * CORPUS_SHARE)
    messages = _draw(_lines(LAUNCH_DAY), count - from_corpus, rng)
    messages += _draw(_lines(CORPUS), from_corpus, rng)
    rng.shuffle(messages)
    ids = Counter((message["channel"], message["id"]) for message in messages)
    assert len(ids) == count, "every message needs its own id"
    return messages


def channel_counts(messages: list[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(message["channel"] for message in messages).most_common())
