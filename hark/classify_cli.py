"""``hark classify``: JSON Lines in, the same objects with their triage out.

Streams: one line is read, classified and written (and flushed) at a time, so input of any
size runs in constant memory and a live feed gets each answer as soon as it is ready.
A line that cannot be classified yields an error object in its place on stdout (output
lines stay aligned with input lines) and a message on stderr; the run goes on, and the
exit status is 1 if any line was refused.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import BinaryIO, TextIO

import click

from hark.json_lines import BadJson, parse_json
from hark.rules_cli import load_engine, rules_option
from rules import Engine
from vocabulary.channels import CHANNELS


class LineRefused(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@click.command()
@rules_option
def classify(rules_path: Path | None) -> None:
    """Read JSONL on stdin (text, optional channel, id...); write it back with priority,
    category, kind, score and rules added."""
    engine = load_engine(rules_path)
    try:
        refused = classify_stream(engine, sys.stdin.buffer, sys.stdout, sys.stderr)
    except BrokenPipeError:  # the reader stopped (| head): nobody is left to tell
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        sys.exit(1)
    except OSError as error:
        click.echo(f"error: cannot write the output: {error.strerror}", err=True)
        sys.exit(1)
    sys.exit(1 if refused else 0)


def classify_stream(engine: Engine, source: BinaryIO, out: TextIO, err: TextIO) -> int:
    """Classify every line of ``source``; return how many lines were refused."""
    refused = 0
    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        try:
            message = _parse(raw)
            result = {**message, **_triage_fields(engine, message)}
        except LineRefused as problem:
            refused += 1
            err.write(f"line {number}: {problem}\n")
            result = {"line": number, "error": {"code": problem.code, "message": str(problem)}}
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


def _triage_fields(engine: Engine, message: dict) -> dict:
    triage = engine.classify(message["text"], message.get("channel"))
    return {
        "priority": triage.priority,
        "category": triage.category,
        "kind": triage.kind,
        "score": triage.score,
        "rules": [
            {"id": rule.id, "weight": rule.weight, "matched": [m.text for m in rule.matches]}
            for rule in triage.rules
        ],
    }
