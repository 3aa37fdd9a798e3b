"""Reply drafts: the first version of a public reply, in the support playbook's voice.

``draft_reply`` reads the message first: whether it needs a support answer at all
(``no_reply.py``), what it already gave (``facts.py``: the version, platform, command and error
are not asked again) and its language (``language.py``: the draft is in the writer's language
where a translation exists, else in English with a note saying so). Then it picks the most
specific template for the triaged message (``template_set.py``),
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

from desk.drafts.facts import NOTHING, Given, facts_given
from desk.drafts.greeting import clean_author
from desk.drafts.language import LANGUAGE_NAMES, writer_language
from desk.drafts.no_reply import NoReply, no_reply_reason
from desk.drafts.templates import (
    CHANNELS,
    FIXED_IN_ID,
    NO_REPLY_ID,
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
from desk.drafts.x_length import X_LIMIT, fit_to_x, x_weighted_length
from vocabulary.redact import find_pii, redact

__all__ = [
    "CHANNELS",
    "VARIABLES",
    "X_LIMIT",
    "Draft",
    "InvalidVersionError",
    "ReplyTemplate",
    "ReplyTemplates",
    "TemplateProblem",
    "TemplatesError",
    "UnsafeReplyError",
    "clean_author",
    "draft_fixed_in",
    "draft_reply",
    "fit_to_x",
    "load_templates",
    "parse_templates",
    "revise_draft",
    "shipped_templates_path",
    "tone_problems",
    "x_weighted_length",
]

_INCIDENT_URL = re.compile(r"https?://[^\s/]+(?:/\S*)?")
_PRIVATE_HOSTS = re.compile(r"^https?://(?:[^/]*\.)?pagerduty\.com(?:[:/]|$)", re.IGNORECASE)


_VERSION = re.compile(r"v?(\d{1,4})\.(\d{1,4})\.(\d{1,4})")


class UnsafeReplyError(ValueError):
    """A draft that would show a destructive command: it is refused, never returned."""


class InvalidVersionError(ValueError):
    """A "fixed in" version that is not a release number (``1.2.1`` or ``v1.2.1``)."""


@dataclass(frozen=True)
class Draft:
    text: str
    template_id: str
    x_length: int | None  # the weighted length on X, for an X draft; None on other channels
    fits_x: bool  # whether ``text`` would fit in one post on X (always true for an X draft)
    tone: list[str]  # the playbook's forbidden phrases found (see tone.py); empty: none
    language: str = "en"  # the language ``text`` is written in
    reply_needed: bool = True  # False: the message needs no support answer (see ``note``)
    already_given: tuple[str, ...] = ()  # what the message gave, not asked again
    note: str = ""  # for the person sending it: why no reply, or no template in a language

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "template_id": self.template_id,
            "x_length": self.x_length,
            "fits_x": self.fits_x,
            "tone": list(self.tone),
            "language": self.language,
            "reply_needed": self.reply_needed,
            "already_given": list(self.already_given),
            "note": self.note,
        }


def draft_reply(
    templates: ReplyTemplates,
    *,
    triage: Mapping[str, Any],
    channel: str,
    author: str,
    incident_url: str = "",
    version_hint: str | None = None,
    message: str | None = None,
    language: str | None = None,
) -> Draft:
    """Draft the reply to a message triaged as ``triage`` (``Triage.to_dict()`` or any mapping
    with ``priority``, ``category`` and ``kind``) that ``author`` sent on ``channel``.

    ``message`` is what they wrote: with it the draft skips what it gave, answers in its
    language and suggests no reply where none is needed. It is redacted before it is read,
    and never quoted. ``language`` is the channel's own label for it (X's ``lang``), trusted
    over detection. Without ``message`` the draft is as the triage alone chooses, in English.

    ``incident_url`` is a public link to where the problem is tracked (a GitHub issue), never
    the PagerDuty incident. ``version_hint`` is how to find one's Caro version, by default the
    command ``caro --version`` (in backticks outside X, where Markdown renders).

    Raises ``UnsafeReplyError`` when the rendered reply shows a destructive command, and
    ``ValueError`` for an unknown channel or an ``incident_url`` that is not a public http(s)
    link. Template errors cannot happen here: templates are checked when they are loaded.
    """
    _check_channel(channel)
    incident_url = _public_link(incident_url)
    priority = str(triage.get("priority") or "P3")
    category = str(triage.get("category") or "other")
    kind = str(triage.get("kind") or "other")
    read = _read_message(message, language)
    template = templates.select(priority=priority, category=category, kind=kind, channel=channel)
    if read.no_reply is not None and templates.get(NO_REPLY_ID) is not None:
        template = templates[NO_REPLY_ID]
    context = {
        "priority": priority,
        "category": category,
        "kind": kind,
        "incident_url": redact(incident_url),
        "gave": read.given,
        "no_reply_reason": read.no_reply.reason if read.no_reply else "",
    }
    draft = _render(templates, template, read.language, channel, author, version_hint, context)
    if read.no_reply is None:
        return draft
    note = f"{read.no_reply.note} {draft.note}".strip()
    return _replace(draft, reply_needed=False, note=note)


def draft_fixed_in(
    templates: ReplyTemplates,
    *,
    version: str,
    channel: str,
    author: str,
    message: str | None = None,
    language: str | None = None,
) -> Draft:
    """The follow-up to a report once its problem is fixed ("fixed in v1.2.1, thank you"),
    in the reporter's language (``message`` and ``language`` as for ``draft_reply``).

    Raises ``InvalidVersionError`` unless ``version`` is a release number (``1.2.1`` or
    ``v1.2.1``), ``LookupError`` when the templates have no ``fixed-in`` template."""
    fixed_version = release_number(version)
    _check_channel(channel)
    template = templates.get(FIXED_IN_ID)
    if template is None:
        raise LookupError(f"no {FIXED_IN_ID!r} template in {templates.source}")
    read = _read_message(message, language)
    context = {
        "priority": "P3",
        "category": "other",
        "kind": "other",
        "incident_url": "",
        "gave": read.given,
        "fixed_version": fixed_version,
    }
    return _render(templates, template, read.language, channel, author, None, context)


def release_number(version: str) -> str:
    """``version`` as "X.Y.Z" ("v1.2.1" and " 1.2.1 " are "1.2.1"); raises
    ``InvalidVersionError`` for anything else (a pre-release, a range, a sentence...)."""
    matched = _VERSION.fullmatch(str(version or "").strip())
    if matched is None:
        raise InvalidVersionError(
            f"{version!r} is not a release version: write it as 1.2.1 or v1.2.1"
        )
    return ".".join(str(int(part)) for part in matched.groups())


@dataclass(frozen=True)
class _Reading:
    given: Given
    language: str | None  # None: unknown, drafted in English without a note
    no_reply: NoReply | None


def _read_message(message: str | None, declared: str | None) -> _Reading:
    """What the draft needs from the message, read from its redacted text only."""
    if message is None:
        return _Reading(NOTHING, None, None)
    text = redact(unicodedata.normalize("NFC", message))
    return _Reading(facts_given(text), writer_language(text, declared), no_reply_reason(text))


def _render(
    templates: ReplyTemplates,
    template: ReplyTemplate,
    language: str | None,
    channel: str,
    author: str,
    version_hint: str | None,
    context: dict[str, Any],
) -> Draft:
    """``template`` in ``language`` if translated (else English, with a note), rendered for
    ``channel``, checked, redacted and fitted to X."""
    translated = templates.translated(template.id, language) if language else None
    note = ""
    if language and language != templates.language and translated is None:
        name = LANGUAGE_NAMES.get(language, language)
        note = f"No {name} template for this: drafted in English."
    chosen = translated or template
    if version_hint is None:
        version_hint = "caro --version" if channel == "x" else "`caro --version`"
    context = {
        "author": clean_author(author),
        "channel": channel,
        "version_hint": version_hint,
        "gave": NOTHING,
        "fixed_version": "",
        "no_reply_reason": "",
        **context,
    }
    body = chosen.x_text if channel == "x" and chosen.x_text is not None else chosen.text
    text = _tidy(body.render(context))
    danger = destructive_command(text)
    if danger:
        raise UnsafeReplyError(
            f"template {chosen.id!r} rendered a destructive command ({danger}); a reply must "
            "never show one, so no draft was made"
        )
    text = _redact_keeping(text, chosen.keep)
    x_length = None
    if channel == "x":
        text = fit_to_x(text)
        x_length = x_weighted_length(text)
    given = context["gave"]
    return Draft(
        text=text,
        template_id=chosen.id,
        x_length=x_length,
        fits_x=(x_length if x_length is not None else x_weighted_length(text)) <= X_LIMIT,
        tone=tone_problems(text),
        language=language if translated is not None and language else templates.language,
        already_given=given.names() if isinstance(given, Given) else (),
        note=note,
    )


def _replace(draft: Draft, **changes: Any) -> Draft:
    return Draft(**{**draft.__dict__, **changes})


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}: expected one of {', '.join(CHANNELS)}")


def _public_link(incident_url: str) -> str:
    incident_url = (incident_url or "").strip()
    if incident_url and (
        not _INCIDENT_URL.fullmatch(incident_url) or _PRIVATE_HOSTS.match(incident_url)
    ):
        raise ValueError(
            f"incident_url {incident_url!r} is not a public http(s) link (a PagerDuty incident "
            "is internal: link the public tracking issue instead)"
        )
    return incident_url


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
