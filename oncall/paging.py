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

import re
from typing import Any

from desk.mentions import MentionStore
from oncall.pagerduty import PageEvent
from oncall.records import Incident, dedup_key_for
from rules.schema import Rulebook, Urgency
from vocabulary.redact import redact

_VERSION = re.compile(r"\bv?(\d+\.\d+\.\d+)\b")
_PLATFORMS = {
    "macos": "macOS",
    "mac": "macOS",
    "linux": "Linux",
    "ubuntu": "Linux (Ubuntu)",
    "debian": "Linux (Debian)",
    "fedora": "Linux (Fedora)",
    "windows": "Windows",
    "wsl": "Windows (WSL)",
    "freebsd": "FreeBSD",
}


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
) -> PageEvent:
    """The event for ``action`` on the incident's current alert ("resolve-low": on the
    low-urgency alert that a high-urgency one replaced)."""
    if action == "resolve-low":
        return PageEvent(action="resolve", dedup_key=dedup_key_for(incident.id, "low"))
    if action in ("acknowledge", "resolve"):
        return PageEvent(action=action, dedup_key=incident.dedup_key)
    page_url = f"{public_url.rstrip('/')}/incidents/{incident.id}"
    reports = len(incident.mentions)
    level = f"possible {incident.priority}" if incident.urgency == "low" else incident.priority
    summary = redact(
        f"[Caro {level}] {incident.title} "
        f"({reports} report{'s' if reports != 1 else ''}: {', '.join(incident.channels)})"
    )[:1024]
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
        details["escalation"] = escalation_summary(incident, mentions)
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


def escalation_summary(incident: Incident, mentions: MentionStore) -> str:
    """The playbook's escalation template, filled from the incident (redacted)."""
    first = mentions.get(incident.mentions[0])
    text = first.text if first else incident.title
    lowered = text.lower()
    platform = next(
        (name for word, name in _PLATFORMS.items() if re.search(rf"\b{word}\b", lowered)), "unknown"
    )
    version = _VERSION.search(text)
    lines = [
        f"ESCALATION: {incident.priority} {incident.category}",
        f"User: {(first.author if first else '') or 'unknown'} ({first.channel if first else '?'})",
        f"Issue: {incident.title}",
        f"Impact: {len(incident.mentions)} report(s) on {', '.join(incident.channels)} "
        f"since {incident.opened_at.isoformat()}",
        f"Reproduction: {' '.join(text.split())[:300]}",
        f"Platform: {platform}",
        f"Caro version: {version.group(1) if version else 'unknown'}",
        f"Links: {', '.join(incident.links[:5]) or 'none'}",
    ]
    return redact("\n".join(lines))
