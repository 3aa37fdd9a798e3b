"""Reply drafts: the first version of a public reply, in the support playbook's voice.

``draft_reply`` picks the most specific template for a triaged message (``templates.py``),
renders it for the channel (X gets the shorter ``x_text`` and is fitted into 280 weighted
characters, ``x_length.py``), removes personal data with ``vocabulary.redact``, refuses to show a
destructive command, and lists the playbook's tone problems (``tone.py``) for the person who
edits and sends it. A draft is never sent by this package.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from desk.drafts.templates import (
    CHANNELS,
    VARIABLES,
    ReplyTemplate,
    ReplyTemplates,
    TemplateProblem,
    TemplatesError,
    load_templates,
    parse_templates,
    shipped_templates_path,
)
from desk.drafts.tone import destructive_command, tone_problems
from desk.drafts.x_length import X_LIMIT, find_urls, fit_to_x, x_weighted_length
from vocabulary.redact import PLACEHOLDERS, find_pii, redact

__all__ = [
    "CHANNELS",
    "VARIABLES",
    "X_LIMIT",
    "Draft",
    "ReplyTemplate",
    "ReplyTemplates",
    "TemplateProblem",
    "TemplatesError",
    "UnsafeReplyError",
    "draft_reply",
    "fit_to_x",
    "load_templates",
    "parse_templates",
    "revise_draft",
    "shipped_templates_path",
    "tone_problems",
    "x_weighted_length",
]

_MAX_AUTHOR = 64
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))
_EMPTY_BRACKETS = re.compile(r"<\s*>|\(\s*\)|\[\s*\]|\{\s*\}")
# Characters that reorder text around them: in a greeting they could reverse the reply.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_PATH_LIKE = re.compile(r"\S*[/\\~]\S*")
_MASS_MENTION = re.compile(r"@(?:everyone|here)\b", re.IGNORECASE)
_INCIDENT_URL = re.compile(r"https?://[^\s/]+(?:/\S*)?")
_PRIVATE_HOSTS = re.compile(r"^https?://(?:[^/]*\.)?pagerduty\.com(?:[:/]|$)", re.IGNORECASE)


class UnsafeReplyError(ValueError):
    """A draft that would show a destructive command: it is refused, never returned."""


@dataclass(frozen=True)
class Draft:
    text: str
    template_id: str
    x_length: int | None  # the weighted length on X, for an X draft; None on other channels
    fits_x: bool  # whether ``text`` would fit in one post on X (always true for an X draft)
    tone: list[str]  # the playbook's forbidden phrases found (see tone.py); empty: none

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "template_id": self.template_id,
            "x_length": self.x_length,
            "fits_x": self.fits_x,
            "tone": list(self.tone),
        }


def draft_reply(
    templates: ReplyTemplates,
    *,
    triage: Mapping[str, Any],
    channel: str,
    author: str,
    incident_url: str = "",
    version_hint: str | None = None,
) -> Draft:
    """Draft the reply to a message triaged as ``triage`` (``Triage.to_dict()`` or any mapping
    with ``priority``, ``category`` and ``kind``) that ``author`` sent on ``channel``.

    ``incident_url`` is a public link to where the problem is tracked (a GitHub issue), never
    the PagerDuty incident. ``version_hint`` is how to find one's Caro version, by default the
    command ``caro --version`` (in backticks outside X, where Markdown renders).

    Raises ``UnsafeReplyError`` when the rendered reply shows a destructive command, and
    ``ValueError`` for an unknown channel or an ``incident_url`` that is not a public http(s)
    link. Template errors cannot happen here: templates are checked when they are loaded.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}: expected one of {', '.join(CHANNELS)}")
    incident_url = (incident_url or "").strip()
    if incident_url and (
        not _INCIDENT_URL.fullmatch(incident_url) or _PRIVATE_HOSTS.match(incident_url)
    ):
        raise ValueError(
            f"incident_url {incident_url!r} is not a public http(s) link (a PagerDuty incident "
            "is internal: link the public tracking issue instead)"
        )
    priority = str(triage.get("priority") or "P3")
    category = str(triage.get("category") or "other")
    kind = str(triage.get("kind") or "other")
    template = templates.select(priority=priority, category=category, kind=kind, channel=channel)
    if version_hint is None:
        version_hint = "caro --version" if channel == "x" else "`caro --version`"
    context = {
        "author": clean_author(author),
        "channel": channel,
        "priority": priority,
        "category": category,
        "kind": kind,
        "incident_url": redact(incident_url),
        "version_hint": version_hint,
    }
    body = template.x_text if channel == "x" and template.x_text is not None else template.text
    text = _tidy(body.render(context))
    danger = destructive_command(text)
    if danger:
        raise UnsafeReplyError(
            f"template {template.id!r} rendered a destructive command ({danger}); a reply must "
            "never show one, so no draft was made"
        )
    text = _redact_keeping(text, template.keep)
    x_length = None
    if channel == "x":
        text = fit_to_x(text)
        x_length = x_weighted_length(text)
    return Draft(
        text=text,
        template_id=template.id,
        x_length=x_length,
        fits_x=(x_length if x_length is not None else x_weighted_length(text)) <= X_LIMIT,
        tone=tone_problems(text),
    )


def revise_draft(previous: Mapping[str, Any], text: str, channel: str) -> dict[str, Any]:
    """A person's edit of a draft, made as safe as a drafted one: NFC with LF line ends,
    personal data replaced by placeholders (``redacted`` lists the kinds removed; the
    addresses the template wrote, such as the team's, stay), its X length measured again,
    and its tone problems listed. Raises ``UnsafeReplyError`` for a destructive command."""
    text = _tidy(unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")))
    danger = destructive_command(text)
    if danger:
        raise UnsafeReplyError(
            f"the draft shows a destructive command ({danger}); a public reply must never "
            "show one: describe the risk in words instead"
        )
    before = str(previous.get("text") or "")
    template_wrote = frozenset(before[start:end] for _, start, end in find_pii(before))
    kept = _redact_keeping(text, template_wrote)
    found = find_pii(text)
    redacted = sorted({kind for kind, start, end in found if text[start:end] not in template_wrote})
    x_length = x_weighted_length(kept) if channel == "x" else None
    return {
        **previous,
        "text": kept,
        "x_length": x_length,
        "fits_x": (x_length if x_length is not None else x_weighted_length(kept)) <= X_LIMIT,
        "tone": tone_problems(kept),
        "redacted": redacted,
    }


def clean_author(author: str | None) -> str:
    """A name or handle fit to greet someone with in public: one line, without personal data
    (an e-mail author "Ana <ana@example.com>" becomes "Ana"), paths, links, @everyone/@here
    or bidirectional controls. A name that holds a destructive command (a joke name such
    as "rm -rf /") is dropped whole."""
    text = _BIDI_CONTROLS.sub("", unicodedata.normalize("NFC", " ".join(str(author or "").split())))
    if destructive_command(text):
        return ""
    text = _PATH_LIKE.sub(" ", text)  # "/home/alice", "~alice/.ssh": a path is no name
    for start, end in reversed(find_urls(text)):
        text = text[:start] + text[end:]
    text = _PLACEHOLDER.sub(" ", redact(text))
    text = _MASS_MENTION.sub(" ", text)
    text = _EMPTY_BRACKETS.sub(" ", text)
    text = " ".join(text.split()).strip(" ,;:<>()[]{}\"'")
    if len(text) > _MAX_AUTHOR:
        text = text[:_MAX_AUTHOR].rsplit(" ", 1)[0]
    return text


def _tidy(text: str) -> str:
    """Trailing spaces off each line, at most one blank line in a row, no blank ends."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _redact_keeping(text: str, keep: frozenset[str]) -> str:
    """``redact(text)``, except for the addresses the template itself writes (the team's
    support address is not somebody's personal data)."""
    marks = {}
    for number, literal in enumerate(sorted(keep, key=len, reverse=True)):
        mark = f"\ue000{chr(0xE100 + number)}\ue001"  # private-use characters: no pattern's
        marks[mark] = literal
        text = text.replace(literal, mark)
    text = redact(text)
    for mark, literal in marks.items():
        text = text.replace(mark, literal)
    return text
