"""The bundled launch-day sample, ``hark/data/launch_day.jsonl``, and how it is made.

``hark replay --launch-day`` (and ``hark run`` when no source is configured) plays it. It is a
busy launch day (Jan 24, 2026; support staffed 8 AM - 8 PM EST) at the top of the playbook's
expected ranges, plus some noise: Discord 100, X 60, GitHub 55, e-mail 35 messages.

The texts and channels come from the labelled corpus ``tests/data/corpus/caro-support.jsonl``
(its labels only choose the mix and are not written out), with light variations: the
launch-day crash reported by many people in their own words, "same here" re-posts of
Discord problems, colleagues writing in about an issue already reported. Each line is the
``IncomingMessage`` shape (``channel``, ``id``, ``author``, ``text``, ``url`` but for e-mail)
plus ``offset_s``, the seconds after the launch at 8 AM when it was posted, over 12 hours:

- a P0 burst: 15 "crashes on launch" reports of 1.2.0 in the first 20 minutes, more in the
  next hour, and thanks for the fix (1.2.1) after about two hours;
- a launch spike in the first hour (GitHub issues and e-mail come a little later), a smaller
  one at lunch (12:30), and a slow decline towards 8 PM.

The file is rewritten, byte for byte the same, by ``python -m hark.launch_day_sample``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from bisect import bisect_right
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus" / "caro-support.jsonl"
OUTPUT = Path(__file__).resolve().parent / "data" / "launch_day.jsonl"

SEED = 20260124
DAY_S = 12 * 3600  # 8 AM to 8 PM
LAUNCH = datetime(2026, 1, 24, 13, 0, tzinfo=UTC)  # 8 AM EST; only to mint realistic ids
BURST_END_S = 20 * 60
TARGETS = {"discord": 100, "x": 60, "github": 55, "email": 35}

# Corpus messages drawn per channel and label (besides the crash reports below).
QUOTAS = {
    "discord": {"P0": 2, "P1": 13, "P2": 19, "P3": 25},
    "x": {"P0": 2, "P1": 9, "P2": 12, "P3": 29},
    "github": {"P0": 3, "P1": 12, "P2": 18, "P3": 17},
    "email": {"P0": 4, "P1": 5, "P2": 3, "P3": 15},
}

# The launch-day crash (1.2.0 dies on launch), as the corpus reports it. Some corpus reports
# name 1.2.2; on launch day they are about 1.2.0.
CORPUS_BURST = [
    "x-crash-launch-01",
    "github-panic-every-run-01",
    "github-panic-launch-pt-01",
    "discord-panic-launch-es-01",
    "discord-segfault-launch-ru-01",
    "discord-crash-launch-zh-01",
    "discord-exit-101-01",
]
CORPUS_SECOND_WAVE = [
    "discord-panic-every-prompt-01",
    "github-crash-launch-ja-01",
    "github-panic-launch-de-01",
]
ABOUT_LAUNCH_VERSION = {
    "discord-segfault-launch-ru-01",
    "discord-crash-launch-zh-01",
    "github-crash-launch-ja-01",
    "github-panic-launch-de-01",
}

# The same crash in other people's words.
BURST = [
    (
        "x",
        "@CaroCLI 1.2.0 crashes on launch for me too. segfault before any output, even "
        "`caro --help`. macOS 14.4, installed with brew",
    ),
    (
        "x",
        "launch day and caro won't even start 😅 `caro --version` → segmentation fault. "
        "1.2.0 via brew. @CaroCLI",
    ),
    (
        "x",
        "anyone else getting `zsh: segmentation fault  caro` on 1.2.0? crashes immediately on "
        "launch @CaroCLI",
    ),
    (
        "discord",
        "just upgraded to 1.2.0 and caro crashes on launch, segfault every single time, even "
        "`caro --version` 😭",
    ),
    (
        "discord",
        "is 1.2.0 broken for everyone? caro dies instantly on launch with "
        "`Segmentation fault (core dumped)`",
    ),
    (
        "discord",
        "caro 1.2.0 stürzt beim Start sofort ab, sogar `caro --version` → "
        "Speicherzugriffsfehler. komplett unbenutzbar",
    ),
    (
        "github",
        "[Bug]: 1.2.0 segfaults on launch (macOS 14, Homebrew)\n\n### Caro Version\n\n1.2.0\n\n"
        "### Operating System\n\nmacOS 14.4 (Apple Silicon)\n\n### Bug Description\n\n"
        "After `brew upgrade caro`, every invocation crashes before printing anything, "
        "including `caro --version`.\n\n```\n$ caro --version\n"
        "zsh: segmentation fault  caro --version\n```\n\nRolling back to 1.1.3 works.",
    ),
    (
        "email",
        "Subject: Caro crashes on launch after upgrading to 1.2.0\n\nHi,\n\nSince this "
        "morning's upgrade to 1.2.0 caro crashes immediately every time I start it: even "
        "`caro --version` prints nothing and exits with a segmentation fault. macOS 14.5, "
        "installed with Homebrew.\n\nIs there a workaround?\n\nThanks,\n{name}",
    ),
]
SECOND_WAVE = [
    (
        "x",
        "@CaroCLI same here, 1.2.0 segfaults on every run, can't use it at all. rolled back "
        "to 1.1.3 for now",
    ),
    ("discord", "+1 to the crash, 1.2.0 on ubuntu 24.04 segfaults on startup. nothing works"),
    (
        "email",
        "Subject: 1.2.0 won't start on our Linux machines\n\nHello,\n\ncaro 1.2.0 won't start "
        "on any of our team's Linux machines: it panics on launch (exit code 101) before doing "
        "anything, whatever the arguments. We rolled back to 1.1.3 for now.\n\nRegards,\n{name}",
    ),
]
FIXED = [
    ("discord", "1.2.1 is out and caro no longer crashes on launch, thanks for the quick fix 🙏"),
    ("x", "@CaroCLI 1.2.1 fixed the segfault, back in business. fast turnaround on launch day 👏"),
]
NOISE = [
    ("discord", "🚀🚀🚀"),
    ("discord", "congrats on the launch!! been waiting for this since the beta"),
    ("discord", "gm everyone, launch day 🎉"),
    ("discord", "just installed, first prompt gave me exactly the find command i wanted. wow"),
    ("discord", "where can i find the changelog for 1.2.0?"),
    ("discord", "what's the difference between the embedded backend and ollama?"),
    ("discord", "hi all 👋 new here, saw the launch on HN"),
    ("discord", "lol the HN thread is wild"),
    ("discord", "can i set caro to always ask before running? want to show it to my team"),
    ("discord", "love the safety checks, it refused my fork bomb test 😂"),
    ("discord", "any plans for a VS Code extension?"),
    ("discord", "how do i update from the beta? just brew upgrade caro?"),
    ("discord", "thanks for the quick replies in here today, appreciated"),
    ("discord", "where do i report a bug, here or on github?"),
    ("discord", "does it support zsh completions?"),
    ("discord", "the demo video on the landing page is so good"),
    (
        "x",
        "caro just launched and it's exactly what I wanted: plain english in, shell command "
        "out 🔥 @CaroCLI",
    ),
    ("x", "launch day for @CaroCLI 🎉 installing it on every machine I own tonight"),
]

# "Same here" re-posts of Discord problems and questions (English ones, later in the day).
ECHO_PREFIXES = ["same here: ", "+1, seeing this too. ", "also hitting this: ", "hey, ", ""]
QUESTION_PREFIXES = ["same question here: ", "+1, ", "hey, ", ""]
ECHO_SUFFIXES = [" (1.2.0, fresh install)", " any ideas?", " 🙏", "", " same on my machine"]
ECHO_POOL = {"P1", "P2"}
ECHO_QUESTIONS = [
    "discord-telemetry-status-how-01",
    "discord-update-how-01",
    "discord-question-model-choice-01",
    "discord-zsh-nomatch-01",
    "discord-command-not-found-cargo-01",
]
# Colleagues writing in about an issue someone already e-mailed.
EMAIL_ECHOES = [
    "email-confirm-default-yes-01",
    "email-proxy-ignored-01",
    "email-risk-all-safe-01",
    "email-man-page-default-backend-01",
    "email-security-contact-question-01",
    "email-dpo-pii-questions-01",
    "email-update-check-question-01",
    "email-enterprise-license-01",
    "email-airgapped-install-01",
]
EMAIL_ECHO_OPENERS = [
    "Hello, a colleague already wrote to you about this; we are in exactly the same situation:",
    "Hi, writing in as well, the same here on our side:",
    "Hi team, same situation here as reported by others:",
]

# When people post, relative, per minute of the day: a launch spike peaking `peak` hours
# after 8 AM (GitHub issues and e-mail take longer to write), lunch at 12:30, a slow decline.
SPIKE = {"x": (0.25, 7.0), "discord": (0.35, 6.0), "github": (0.7, 4.0), "email": (1.0, 3.0)}
LUNCH_H, LUNCH_WIDTH_H, LUNCH_HEIGHT = 4.5, 0.35, 3.5

FIRST = [
    "alex", "sam", "kai", "noor", "mika", "jordan", "li", "ana", "tomas", "yuki", "ravi",
    "lena", "omar", "ines", "felix", "maya", "jonas", "sara", "diego", "hana", "leo", "zoe",
    "arjun", "emma", "chen", "lucas", "nina", "ivan", "aiko", "pablo", "fatima", "erik",
]  # fmt: skip
LAST = [
    "kim", "silva", "novak", "berg", "costa", "tanaka", "patel", "muller", "rossi", "ahmed",
    "larsen", "garcia", "weber", "dubois", "okafor", "lee", "haddad", "moreau", "ivanova",
]  # fmt: skip
WORDS = ["dev", "codes", "ops", "rs", "sh", "hacks", "builds", "cli", "tty", "bytes", "sre"]
MAIL_DOMAINS = ["mail.example.com", "example.org", "corp.example.net", "mx.example.io"]
DISCORD_GUILD = "1187012345678901248"
DISCORD_CHANNELS = {"help": "1187012345678901251", "general": "1187012345678901249"}
DISCORD_EPOCH_MS = 1_420_070_400_000
X_EPOCH_MS = 1_288_834_974_657
GITHUB_FIRST_ISSUE = 742
GITHUB_FIRST_DB_ID = 2_804_117_000


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def intensity(channel: str, hours: float) -> float:
    peak, height = SPIKE[channel]
    base = 1.0 - 0.045 * hours
    spike = height * (hours / peak) * math.exp(1 - hours / peak)
    lunch = LUNCH_HEIGHT * math.exp(-0.5 * ((hours - LUNCH_H) / LUNCH_WIDTH_H) ** 2)
    return base + spike + lunch


def posting_times(channel: str, count: int, rng: random.Random) -> list[int]:
    """``count`` offsets that follow the channel's intensity, minute by minute, in random
    order. Stratified (one draw per equal share of the day's volume), so that a sample of
    a few dozen messages already has the day's shape rather than a random one's clumps."""
    total, sums = 0.0, []
    for minute in range(DAY_S // 60):
        total += intensity(channel, (minute + 0.5) / 60)
        sums.append(total)
    shares = [(k + rng.random()) / count for k in range(count)]
    rng.shuffle(shares)
    minutes = [min(bisect_right(sums, share * total), len(sums) - 1) for share in shares]
    return [minute * 60 + rng.randrange(60) for minute in minutes]


def build_sample(corpus: list[dict[str, Any]], seed: int = SEED) -> list[dict[str, Any]]:
    """The sample's lines, sorted by ``offset_s``."""
    rng = random.Random(seed)
    authors = _Authors(rng)
    by_id = {row["id"]: row for row in corpus}

    def corpus_text(row_id: str) -> str:
        text = by_id[row_id]["text"]
        return text.replace("1.2.2", "1.2.0") if row_id in ABOUT_LAUNCH_VERSION else text

    messages: list[dict[str, Any]] = []  # channel, text, offset_s, room (Discord)

    def add(channel: str, text: str, offset: int, room: str = "help") -> dict[str, Any]:
        message: dict[str, Any] = {"channel": channel, "text": text, "offset_s": offset}
        if channel == "discord":
            message["room"] = room
        elif channel == "email":  # the sender's display name: whoever signed, if anyone did
            message["author"] = signature_name(text) or authors.email()
            if "{name}" in text:
                message["text"] = text.replace("{name}", message["author"].split()[0])
        messages.append(message)
        return message

    def after(offset: int, low_s: int, high_s: int) -> int:
        """A while after ``offset``, before the day ends."""
        later = offset + rng.randrange(low_s, high_s)
        return later if later < DAY_S else offset + int((DAY_S - 1 - offset) * rng.random())

    burst = [(by_id[i]["channel"], corpus_text(i)) for i in CORPUS_BURST] + BURST
    rng.shuffle(burst)
    starts = sorted(60 + int((BURST_END_S - 61) * rng.random() ** 1.4) for _ in burst)
    for (channel, text), offset in zip(burst, starts, strict=True):
        add(channel, text, offset)
    wave = [(by_id[i]["channel"], corpus_text(i)) for i in CORPUS_SECOND_WAVE] + SECOND_WAVE
    for channel, text in wave:
        add(channel, text, rng.randrange(BURST_END_S, 90 * 60))
    for channel, text in FIXED:
        add(channel, text, rng.randrange(120 * 60, 150 * 60))

    # The day's own messages, noise and corpus draws, timed together per channel.
    regular: list[tuple[str, str, str | None]] = [(ch, text, None) for ch, text in NOISE]
    used = set(CORPUS_BURST) | set(CORPUS_SECOND_WAVE)
    drawn: dict[str, dict[str, Any]] = {}
    for channel, quotas in QUOTAS.items():
        for priority, count in quotas.items():
            pool = [
                row["id"]
                for row in corpus
                if row["channel"] == channel and row["priority"] == priority
                and row["id"] not in used
            ]  # fmt: skip
            regular += [(channel, corpus_text(i), i) for i in rng.sample(pool, count)]
    for channel in QUOTAS:
        mine = [entry for entry in regular if entry[0] == channel]
        for (_, text, row_id), offset in zip(
            mine, posting_times(channel, len(mine), rng), strict=True
        ):
            message = add(channel, text, offset, room="help" if row_id else "general")
            if row_id:
                drawn[row_id] = message

    echo_pool = [
        row["id"]
        for row in corpus
        if row["channel"] == "discord" and row["lang"] == "en" and row["id"] in drawn
        and (row["priority"] in ECHO_POOL or row["id"] in ECHO_QUESTIONS)
    ]  # fmt: skip
    discord_count = sum(message["channel"] == "discord" for message in messages)
    for row_id in rng.sample(echo_pool, TARGETS["discord"] - discord_count):
        prefixes = QUESTION_PREFIXES if row_id in ECHO_QUESTIONS else ECHO_PREFIXES
        text = rng.choice(prefixes) + corpus_text(row_id) + rng.choice(ECHO_SUFFIXES)
        add("discord", text, after(drawn[row_id]["offset_s"], 5 * 60, 90 * 60))
    email_count = sum(message["channel"] == "email" for message in messages)
    for row_id in rng.sample(EMAIL_ECHOES, TARGETS["email"] - email_count):
        subject, _, body = corpus_text(row_id).partition("\n\n")
        opener = rng.choice(EMAIL_ECHO_OPENERS)
        body = without_signature(body)
        text = f"{subject} (same here)\n\n{opener}\n\n{body}\n\nThanks,\n{{name}}"
        add("email", text, after(drawn[row_id]["offset_s"], 20 * 60, 180 * 60))

    messages.sort(key=lambda message: message["offset_s"])  # stable: ties keep build order
    return _identified(messages, rng, authors)


def _identified(
    messages: list[dict[str, Any]], rng: random.Random, authors: _Authors
) -> list[dict[str, Any]]:
    """Ids, authors and links, numbered in posting order as the platforms would."""
    lines: list[dict[str, Any]] = []
    sequence: Counter[str] = Counter()  # messages so far on each channel
    for message in messages:
        channel, offset = message["channel"], message["offset_s"]
        sequence[channel] += 1
        posted_ms = int(LAUNCH.timestamp() * 1000) + offset * 1000 + rng.randrange(1000)
        line: dict[str, Any] = {"offset_s": offset, "channel": channel}
        if channel == "discord":
            native = str(((posted_ms - DISCORD_EPOCH_MS) << 22) | sequence[channel])
            author = authors.discord()
            room = DISCORD_CHANNELS[message["room"]]
            url = f"https://discord.com/channels/{DISCORD_GUILD}/{room}/{native}"
        elif channel == "x":
            native = str(((posted_ms - X_EPOCH_MS) << 22) | sequence[channel])
            author = authors.x()
            url = f"https://x.com/{author}/status/{native}"
        elif channel == "github":
            number = GITHUB_FIRST_ISSUE + sequence[channel] - 1
            native = f"issue-{GITHUB_FIRST_DB_ID + 37 * sequence[channel] + rng.randrange(37)}"
            author = authors.github()
            url = f"https://github.com/wildcard/caro/issues/{number}"
        else:
            native = f"{rng.getrandbits(64):016x}.{sequence[channel]}@{rng.choice(MAIL_DOMAINS)}"
            author = message["author"]
            url = None
        line.update(id=native, author=author, text=message["text"])
        if url:
            line["url"] = url
        lines.append(line)
    return lines


class _Authors:
    """Distinct made-up names, in each platform's style."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.taken: set[str] = set()

    def _unique(self, make) -> str:
        while True:
            name = make()
            if name not in self.taken:
                self.taken.add(name)
                return name

    def discord(self) -> str:
        rng = self.rng
        return self._unique(
            lambda: rng.choice(FIRST) + rng.choice([".", "_", ""]) + rng.choice(WORDS + LAST)
        )

    def x(self) -> str:
        rng = self.rng
        return self._unique(
            lambda: rng.choice(FIRST) + rng.choice(["_", ""]) + rng.choice(WORDS)
            + str(rng.randrange(100)) * rng.randrange(2)
        )  # fmt: skip

    def github(self) -> str:
        rng = self.rng
        return self._unique(lambda: f"{rng.choice(FIRST)}-{rng.choice(LAST)}")

    def email(self) -> str:
        rng = self.rng
        return self._unique(
            lambda: f"{rng.choice(FIRST).capitalize()} {rng.choice(LAST).capitalize()}"
        )


_DEVICE_LINE = re.compile(r"^(Sent from|Enviado d|Envoyé de)")


def _paragraphs(text: str) -> list[str]:
    """The paragraphs of an e-mail, without "Sent from my iPhone" and ``--`` footers."""
    paragraphs = [part.split("\n--\n")[0] for part in text.split("\n\n")]
    while paragraphs and _DEVICE_LINE.match(paragraphs[-1]):
        paragraphs.pop()
    return paragraphs


def signature_name(text: str) -> str | None:
    """The name under an e-mail's sign-off ("Best regards,\nPriya Raman"), if it has one."""
    paragraphs = _paragraphs(text)
    if not paragraphs:
        return None
    lines = paragraphs[-1].split("\n")
    if len(lines) == 1 and lines[0].startswith("— "):
        return lines[0][2:].strip()
    signed = len(lines) >= 2 and len(lines[0]) <= 40 and 0 < len(lines[1]) <= 30
    if signed and not lines[1].startswith((">", "{")) and ":" not in lines[1]:
        return lines[1].strip()
    return None


def without_signature(body: str) -> str:
    paragraphs = _paragraphs(body)
    if paragraphs and signature_name("\n\n".join(paragraphs)):
        paragraphs.pop()
    return "\n\n".join(paragraphs)


def render(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hark.launch_day_sample", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    lines = build_sample(load_corpus(args.corpus))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(lines), encoding="utf-8", newline="\n")
    per_channel = Counter(line["channel"] for line in lines)
    summary = ", ".join(f"{channel} {per_channel[channel]}" for channel in TARGETS)
    print(f"{args.output}: {len(lines)} messages ({summary})", file=sys.stderr)


if __name__ == "__main__":
    main()
