"""Labelled corpora for ``hark rules test``: JSON Lines with text and priority."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hark.json_lines import BadJson, parse_json
from rules.schema import LEVELS
from vocabulary.channels import CHANNELS


class CorpusError(ValueError):
    """A corpus line that cannot be used, named by file and line."""


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    text: str
    priority: str
    channel: str | None
    category: str | None


def read_corpus(path: Path) -> Iterator[LabelledMessage]:
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            yield _parse_line(raw, f"{path}:{number}")


def _parse_line(raw: bytes, where: str) -> LabelledMessage:
    try:
        row = parse_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CorpusError(f"{where}: not UTF-8 text") from None
    except BadJson as error:
        raise CorpusError(f"{where}: {error}") from None
    if not isinstance(row, dict):
        raise CorpusError(f"{where}: each line must be a JSON object")
    if not isinstance(row.get("text"), str):
        raise CorpusError(f"{where}: 'text' must be a string")
    if row.get("priority") not in LEVELS:
        raise CorpusError(f"{where}: 'priority' must be one of {', '.join(LEVELS)}")
    if row.get("channel") is not None and row["channel"] not in CHANNELS:
        raise CorpusError(f"{where}: 'channel' must be one of {', '.join(CHANNELS)}")
    return LabelledMessage(
        id=str(row.get("id", where)),
        text=row["text"],
        priority=row["priority"],
        channel=row.get("channel"),
        category=row.get("category"),
    )
