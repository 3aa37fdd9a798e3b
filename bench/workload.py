"""Deterministic workloads: a 100,000-message mix and a generated 1,000-rule rulebook."""

from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_SIGNALS = [
    "Caro crashes on launch after the update",
    "every command fails with a panic",
    "brew install caro fails with a 404 on macOS",
    "it generated rm -rf ~ and nobody blocked it",
    "the README shows the wrong flag for --model",
    "find -printf does not work on my mac (BSD)",
    "how do I set the default backend?",
    "love this tool, thank you!",
    "feature request: fish shell completions please",
    "it hangs on large directories",
    "my API key shows up in the telemetry payload",
    "Caro stürzt beim Start ab",
    "程序一启动就崩溃了",
    "la instalación falla en Ubuntu",
    "Программа вылетает при запуске",
    "ドキュメントが間違っています",
]
_FILLER = (
    "caro shell command prompt terminal today after using the new version works nice "
    "with my zsh setup on linux and macos when i try to list files in a folder with git "
    "status and docker images the output looks fine but sometimes slow anyway thanks team "
    "release notes discord github issue support email tweet launch day ollama model backend"
).split()
_WRAPPERS = {
    "x": "@CaroCLI {body} #cli #devtools https://t.co/{tag}",
    "github": '### Bug Description\n{body}\n\n### Steps to reproduce\n1. caro "{filler}"\n'
    "2. see output\n\n### Caro Version\nv1.1.{n}\n\n### Operating System\nmacOS 14.{n}\n",
    "discord": "{body} lol",
    "email": "Hello,\n\n{body}\n\n{filler}\n\nBest regards,\nSam\n\n"
    "On Tue, Jan 2 wrote:\n> {filler}",
}


def _corpus_texts() -> list[str]:
    """The project corpus only (not the real held-out sets beside it), so that the mix, and
    the figures measured on it, stay the same from one run to the next."""
    path = ROOT / "tests" / "data" / "corpus" / "caro-support.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def message_mix(count: int = 100_000, seed: int = 7) -> list[tuple[str, str]]:
    """``(text, channel)`` pairs in the four channels' shapes; a third are corpus lines."""
    rng = random.Random(seed)
    corpus = _corpus_texts()
    channels = list(_WRAPPERS)
    mix = []
    for _ in range(count):
        channel = rng.choice(channels)
        if corpus and rng.random() < 0.33:
            mix.append((rng.choice(corpus), channel))
            continue
        body = " ".join(rng.choices(_FILLER, k=rng.randint(4, 30)))
        if rng.random() < 0.5:
            body = f"{body} {rng.choice(_SIGNALS)}"
        text = _WRAPPERS[channel].format(
            body=body,
            filler=" ".join(rng.choices(_FILLER, k=6)),
            tag=rng.randrange(10**9),
            n=rng.randrange(10),
        )
        mix.append((text, channel))
    return mix


def generated_rulebook(rule_count: int = 1000, seed: int = 11, real_words: float = 0.01) -> str:
    """YAML of a rulebook with ``rule_count`` rules in the shipped rulebook's proportions:
    keywords and phrases, some requirements, exclusions, negations and regexes.

    A share ``real_words`` of the patterns are words the messages use (content words, not
    "a" or "with"); the rest are terms they never contain. At the default, about as many
    rules fire per message as with the shipped rulebook, so that the comparison is about
    the number of rules, not about how many of them fire (the benchmark prints both).
    """
    rng = random.Random(seed)
    real = sorted((set(_FILLER) - _FUNCTION_WORDS) | _signal_words())
    synthetic = [f"term{i}" for i in range(20_000)]

    def words(count: int) -> list[str]:
        return [rng.choice(real if rng.random() < real_words else synthetic) for _ in range(count)]

    header = (ROOT / "rules" / "data" / "rulebook.yaml").read_text(encoding="utf-8")
    header = header[: header.index("\nrules:")]
    lines = [header, "rules:"]
    for index in range(rule_count):
        picked = words(4)
        match: list[dict[str, list[str]]] = [
            {"keyword": picked[:3], "phrase": [" ".join(words(2))]}
        ]
        rule: dict[str, object] = {
            "id": f"generated-{index}",
            "description": f"generated rule {index}",
            "match": match,
            "priority": rng.choice(["P0", "P1", "P2", "P3"]),
            "weight": rng.choice([0.5, 1.0]),
        }
        if rng.random() < 0.1:
            match.append({"regex": [rf"\b{picked[3]}\s+\d+"]})
        if rng.random() < 0.3:
            rule["require"] = [{"keyword": words(3)}]
        if rng.random() < 0.2:
            rule["unless"] = [{"phrase": [" ".join(words(2))]}]
        if rng.random() < 0.3:
            rule["negated_by"] = ["not", "no longer"]
        lines.append("  - " + json.dumps(rule, ensure_ascii=False))
    return "\n".join(lines) + "\n"


_FUNCTION_WORDS = set("a an and i in on my of to the with when but when it fine looks".split())


def _signal_words() -> set[str]:
    words = {word.strip("!?,.()").lower() for text in _SIGNALS for word in text.split()}
    return words - _FUNCTION_WORDS - {""}
