"""What a page says: the PagerDuty event for an incident (trigger, escalate, acknowledge,
resolve) and the playbook's escalation summary. Everything in it is redacted
(``vocabulary.redact``): no PII leaves for PagerDuty. Sending is ``services.paging``.

How a possible P0 (an incident of low urgency) reaches PagerDuty at low urgency: through
one routing key, its trigger carries the rulebook's ``urgency.low_severity`` (default
"warning") where a sure P0 carries the P0 level's ``page_severity`` (default "critical"),
and its summary starts "[Caro possible P0]". PagerDuty turns severity into urgency when
the service's urgency is set to "based on alert severity" (or an event rule maps warning to
low urgency): then a possible P0 notifies with the on-call's low-urgency rules, a sure one
with the high-urgency rules. It also has its own dedup key, "hark-<id>-low": PagerDuty
folds a trigger on an open alert's key into that alert without changing its severity, so
confirming the incident triggers a new alert on "hark-<id>" (at high severity) and
resolves the low one ("resolve-low").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from desk.mentions import MentionStore
from oncall.pagerduty import PageEvent
from oncall.records import Incident, dedup_key_for
from oncall.signatures import caro_version, platform
from oncall.titles import PAGERDUTY_SUMMARY_CHARS, cut_at_word
from rules.schema import Rulebook, Urgency
from vocabulary.redact import redact


@dataclass(frozen=True)
class EscalationField:
    """One line of the playbook's escalation template: its label and value (a time is a
    datetime, for the page to show on the team's clock and PagerDuty in UTC)."""

    label: str
    value: str | datetime


def page_severity(incident: Incident, rulebook: Rulebook | None) -> str:
    """The PagerDuty severity of the incident's trigger: for a P0, the rulebook's
    ``page_severity`` of P0 at high urgency and ``urgency.low_severity`` at low urgency (the
    schema's defaults, critical and warning, with no rulebook at hand); "warning" for a P1
    (``HARK_P1_PAGES``: low urgency)."""
    if incident.priority != "P0":
        return "warning"
    if incident.urgency == "low":
        return rulebook.urgency.low_severity if rulebook else Urgency().low_severity
    return rulebook.priorities["P0"].page_severity if rulebook else "critical"


def build_event(
    incident: Incident,
    action: str,
    mentions: MentionStore,
    public_url: str,
    rulebook: Rulebook | None = None,
    escalate_after: timedelta | None = None,
) -> PageEvent:
    """The event for ``action`` on the incident's current alert ("resolve-low": on the
    low-urgency alert that a high-urgency one replaced)."""
    if action == "resolve-low":
        return PageEvent(action="resolve", dedup_key=dedup_key_for(incident.id, "low"))
    if action == "resolve-merged":
        return PageEvent(action="resolve", dedup_key=incident.dedup_key)
    if action in ("acknowledge", "resolve"):
        return PageEvent(action=action, dedup_key=incident.dedup_key)
    page_url = f"{public_url.rstrip('/')}/incidents/{incident.id}"
    reports = len(incident.mentions)
    level = f"possible {incident.priority}" if incident.urgency == "low" else incident.priority
    summary = page_summary(incident, f"[Caro {level}]")
    details: dict[str, Any] = {
        "incident": page_url,
        "priority": incident.priority,
        "category": incident.category,
        "reports": reports,
        "triage": [line.model_dump(mode="json") for line in incident.explanation],
        "mentions": [redact(link) for link in incident.links[:10]],
    }
    if incident.priority == "P0":
        details["urgency"] = incident.urgency
    if action == "escalate":
        details["escalation"] = escalation_summary(incident, mentions, escalate_after)
    if incident.merged_into:
        details["merged_into"] = f"{public_url.rstrip('/')}/incidents/{incident.merged_into}"
    links = [{"href": page_url, "text": "Hark incident"}]
    return PageEvent(
        action="trigger",
        dedup_key=incident.dedup_key,
        summary=summary,
        source=f"caro-support/{incident.channels[0]}",
        severity=page_severity(incident, rulebook),
        custom_details=details,
        links=links,
    )


def page_summary(incident: Incident, prefix: str) -> str:
    """PagerDuty's one line for the incident: the prefix, its clean title and how many
    reports from where, cut at a word with "…" at the Events API's 1024 characters (the
    count stays whole: the title gives way)."""
    reports = len(incident.mentions)
    tail = f" ({reports} report{'s' if reports != 1 else ''}: {', '.join(incident.channels)})"
    room = PAGERDUTY_SUMMARY_CHARS - len(prefix) - 1 - len(tail)
    return redact(f"{prefix} {cut_at_word(incident.title, room)}{tail}")


def merged_note_event(incident: Incident, survivor_id: str, public_url: str) -> PageEvent:
    """The last trigger on a merged incident's open alert, before its resolve: PagerDuty
    folds it into that alert (no new notification) and its log then says where the
    reports went. (The Events API has no notes; a resolve carries no text.)"""
    survivor_url = f"{public_url.rstrip('/')}/incidents/{survivor_id}"
    return PageEvent(
        action="trigger",
        dedup_key=incident.dedup_key,
        summary=page_summary(incident, f"[Caro {incident.priority}] merged into {survivor_id}:"),
        source=f"caro-support/{incident.channels[0] if incident.channels else 'hark'}",
        severity="info",
        custom_details={"merged_into": survivor_url, "incident": incident.id},
        links=[{"href": survivor_url, "text": f"Merged into {survivor_id}"}],
    )


def human_duration(window: timedelta) -> str:
    """A duration as people say it: "15 min", "1 h", "1 h 30 min", "2 d" (never "0:15:00")."""
    minutes = int(window.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    text = " ".join(part for part in parts[:2] if part)
    if minutes or not text:
        text = f"{text} {parts[2]}".strip()
    return text if window.total_seconds() >= 60 else f"{int(window.total_seconds())} s"


def utc_minute(moment: datetime) -> str:
    """A time for PagerDuty's text: UTC, ISO 8601, to the minute ("2026-01-24T13:05Z")."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def escalation_fields(
    incident: Incident, mentions: MentionStore, escalate_after: timedelta
) -> list[EscalationField]:
    """The playbook's escalation template, filled from the incident, one field a line. The
    platform and Caro version come from the first report that names one (read after
    redaction, and only version-shaped text: ``oncall.signatures``)."""
    stored = [mentions.get(mention_id) for mention_id in incident.mentions[:50]]
    texts = [mention.text for mention in stored if mention is not None] or [incident.title]
    first = next((mention for mention in stored if mention is not None), None)
    version = next((v for v in map(caro_version, texts) if v), None)
    where = next((p for p in map(platform, texts) if p), None)
    reports = len(incident.mentions)
    level = f"possible {incident.priority}" if incident.urgency == "low" else incident.priority
    user = f"{first.author or 'unknown'} ({first.channel})" if first else "unknown"
    return [
        EscalationField("ESCALATION", f"{level} {incident.category}"),
        EscalationField("User", redact(user)),
        EscalationField("Issue", incident.title),
        EscalationField(
            "Impact",
            f"{reports} report{'s' if reports != 1 else ''} on {', '.join(incident.channels)}",
        ),
        EscalationField("Platform", where or "unknown"),
        EscalationField("Caro version", version or "unknown"),
        EscalationField("Reports", str(reports)),
        EscalationField("Since", incident.opened_at),
        EscalationField("Not acknowledged within", human_duration(escalate_after)),
        EscalationField("Issue link", redact(incident.links[0]) if incident.links else "none"),
    ]


def escalation_summary(
    incident: Incident, mentions: MentionStore, escalate_after: timedelta | None = None
) -> str:
    """The escalation template as PagerDuty text: one "Label: value" a line, times in UTC
    to the minute (redacted)."""
    window = escalate_after if escalate_after is not None else timedelta(minutes=15)
    lines = [
        f"{field.label}: "
        + (utc_minute(field.value) if isinstance(field.value, datetime) else field.value)
        for field in escalation_fields(incident, mentions, window)
    ]
    return redact("\n".join(lines))
