"""``hark classify``: JSON Lines in, the same objects with their triage out.

Streams in batches: from a pipe (a live feed), one line at a time, each answer written and
flushed as soon as it is ready; from a file (``hark classify < mentions.jsonl``), lines in
batches (``--batch``), so that the learned second opinion vectorizes many texts in one pass.
Either way input of any size runs in constant memory.
A line that cannot be classified yields an error object in its place on stdout (output
lines stay aligned with input lines) and a message on stderr; the run goes on, and the
exit status is 1 if any line was refused.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO, TextIO

import click

from hark.cli_errors import say_error
from hark.json_lines import BadJson, parse_json
from hark.rules_cli import load_engine, rules_option
from rules import Engine, Triage
from vocabulary.channels import CHANNELS


class LineRefused(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


FILE_BATCH = 256


@click.command()
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=None,
    help=f"Lines classified together (default: {FILE_BATCH} from a file, 1 from a pipe).",
)
@rules_option
def classify(batch: int | None, rules_path: Path | None) -> None:
    """Read JSONL on stdin (text, optional channel, id...); write it back with priority,
    urgency (on a P0: high or low), category, kind, score and rules added."""
    engine = load_engine(rules_path)
    if batch is None:
        batch = FILE_BATCH if _reads_a_file(sys.stdin) else 1
    try:
        refused = classify_stream(engine, sys.stdin.buffer, sys.stdout, sys.stderr, batch)
    except BrokenPipeError:  # the reader stopped (| head): nobody is left to tell
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        sys.exit(1)
    except OSError as error:
        say_error(f"cannot write the output: {error.strerror}")
        sys.exit(1)
    sys.exit(1 if refused else 0)


def _reads_a_file(stream: TextIO) -> bool:
    """True when ``stream`` is a regular file (``< mentions.jsonl``), not a pipe or a
    terminal (nor an in-memory stream, which has no descriptor)."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return False


def classify_stream(
    engine: Engine, source: BinaryIO, out: TextIO, err: TextIO, batch: int = 1
) -> int:
    """Classify every line of ``source``, ``batch`` lines at a time; return how many lines
    were refused."""
    refused = 0
    pending: list[tuple[int, dict | LineRefused]] = []
    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        try:
            pending.append((number, _parse(raw)))
        except LineRefused as problem:
            pending.append((number, problem))
        if len(pending) >= batch:
            refused += _answer(engine, pending, out, err)
            pending = []
    return refused + _answer(engine, pending, out, err)


def _answer(
    engine: Engine, pending: list[tuple[int, dict | LineRefused]], out: TextIO, err: TextIO
) -> int:
    """Write the answers to ``pending`` lines in their order; return how many were refused."""
    messages = [item for _, item in pending if isinstance(item, dict)]
    triages = iter(engine.classify_batch([(m["text"], m.get("channel")) for m in messages]))
    refused = 0
    for number, item in pending:
        if isinstance(item, LineRefused):
            refused += 1
            err.write(f"line {number}: {item}\n")
            result = {"line": number, "error": {"code": item.code, "message": str(item)}}
        else:
            result = {**item, **_triage_fields(next(triages))}
        out.write(_json_line(result))
    out.flush()  # a live feed (tail -f | hark classify) sees each answer at once
    return refused


def _json_line(result: dict) -> str:
    line = json.dumps(result, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (\ud800) came in: keep it, escaped
        line = json.dumps(result)
    return line + "\n"


def _parse(raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LineRefused(
            "invalid_utf8", f"not UTF-8 (byte {error.start}); re-encode the input as UTF-8"
        ) from None
    try:
        message = parse_json(text)
    except BadJson as error:
        raise LineRefused("invalid_json", str(error)) from None
    if not isinstance(message, dict):
        raise LineRefused(
            "not_an_object", f"expected a JSON object with 'text', got {type(message).__name__}"
        )
    if not isinstance(message.get("text"), str):
        raise LineRefused("missing_text", "the object needs a 'text' string")
    channel = message.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise LineRefused("invalid_channel", f"'channel' must be one of {', '.join(CHANNELS)}")
    return message


def _triage_fields(triage: Triage) -> dict:
    fields: dict = {"priority": triage.priority}
    if triage.urgency is not None:
        fields["urgency"] = triage.urgency
    return fields | {
        "category": triage.category,
        "kind": triage.kind,
        "score": triage.score,
        "rules": [
            {"id": rule.id, "weight": rule.weight, "matched": [m.text for m in rule.matches]}
            for rule in triage.rules
        ],
    }
