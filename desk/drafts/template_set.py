"""The compiled reply templates of one file and the choice of one for a triaged message.

A template's ``when`` (any of ``priorities``, ``categories``, ``kinds``, ``channels``; empty
means any) says which messages it answers. The most specific matching template wins (the
number of constrained fields), ties going to the earlier one, else the ``fallback``.
Templates see only ``VARIABLES``: never the message, so a reply cannot quote what was
written. Loading and checking the team's YAML is ``desk.drafts.templates``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import jinja2

from desk.drafts.facts import NOTHING

VARIABLES = (
    "author",
    "channel",
    "priority",
    "category",
    "kind",
    "incident_url",
    "version_hint",
    "gave",
    "fixed_version",
    "no_reply_reason",
)
# Chosen by what the message is, never by ``when``: a message that needs no support answer
# (``no_reply.py``), and the "fixed in vX.Y.Z" follow-up of an incident's reports.
NO_REPLY_ID = "no-reply-needed"
FIXED_IN_ID = "fixed-in"
RESERVED_IDS = (NO_REPLY_ID, FIXED_IN_ID)


@dataclass(frozen=True)
class ReplyTemplate:
    id: str
    when: dict[str, frozenset[str]]  # priorities, categories, kinds, channels; empty: any
    text: jinja2.Template
    x_text: jinja2.Template | None
    keep: frozenset[str]  # addresses the template itself writes (support@...): not PII
    line: int

    @property
    def specificity(self) -> int:
        return sum(1 for allowed in self.when.values() if allowed)

    def matches(self, *, priority: str, category: str, kind: str, channel: str) -> bool:
        values = dict(priorities=priority, categories=category, kinds=kind, channels=channel)
        return all(not allowed or values[key] in allowed for key, allowed in self.when.items())


class ReplyTemplates:
    """The templates of one file, in file order, in ``language``; an English set also holds
    its translations (``translated``), each a set of the same ids (or fewer)."""

    def __init__(
        self,
        templates: list[ReplyTemplate],
        source: str,
        language: str = "en",
        translations: dict[str, ReplyTemplates] | None = None,
    ) -> None:
        self.templates = tuple(templates)
        self.source = source
        self.language = language
        self.translations = dict(translations or {})
        self._by_id = {template.id: template for template in templates}

    def get(self, template_id: str) -> ReplyTemplate | None:
        return self._by_id.get(template_id)

    def translated(self, template_id: str, language: str) -> ReplyTemplate | None:
        """The template ``template_id`` in ``language``, or None when it has no translation
        (English is this set itself)."""
        if language == self.language:
            return self.get(template_id)
        translation = self.translations.get(language)
        return translation.get(template_id) if translation else None

    def select(self, *, priority: str, category: str, kind: str, channel: str) -> ReplyTemplate:
        """The most specific matching template, the earlier one on a tie (else the fallback)."""
        message = dict(priority=priority, category=category, kind=kind, channel=channel)
        best: ReplyTemplate | None = None
        for template in self.templates:
            if template.id in RESERVED_IDS:
                continue
            if template.matches(**message) and (
                not best or template.specificity > best.specificity
            ):
                best = template
        return best or self._by_id["fallback"]

    def __getitem__(self, template_id: str) -> ReplyTemplate:
        return self._by_id[template_id]

    def __iter__(self) -> Iterator[ReplyTemplate]:
        return iter(self.templates)

    def __len__(self) -> int:
        return len(self.templates)


def sample_context(when: dict[str, frozenset[str]], channel: str, **overrides: object) -> dict:
    """A representative context for a template's ``when`` (its first allowed values)."""
    first = {key: min(values) if values else None for key, values in when.items()}
    return {
        "author": "",
        "channel": channel,
        "priority": first["priorities"] or "P3",
        "category": first["categories"] or "other",
        "kind": first["kinds"] or "other",
        "incident_url": "",
        "version_hint": "caro --version",
        "gave": NOTHING,
        "fixed_version": "1.2.1",
        "no_reply_reason": "unsubscribe",
        **overrides,
    }
