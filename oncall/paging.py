"""What a page says: the PagerDuty event for an incident (trigger, escalate, acknowledge,
resolve) and the playbook's escalation summary. Everything in it is redacted
(``vocabulary.redact``): no PII leaves for PagerDuty. Sending is ``services.paging``."""

from __future__ import annotations

import re
from typing import Any

from desk.mentions import MentionStore
from oncall.pagerduty import PageEvent
from oncall.records import Incident
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


def build_event(
    incident: Incident, action: str, mentions: MentionStore, public_url: str
) -> PageEvent:
    if action in ("acknowledge", "resolve"):
        return PageEvent(action=action, dedup_key=incident.dedup_key)
    page_url = f"{public_url.rstrip('/')}/incidents/{incident.id}"
    reports = len(incident.mentions)
    summary = redact(
        f"[Caro {incident.priority}] {incident.title} "
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
    if action == "escalate":
        details["escalation"] = escalation_summary(incident, mentions)
    severity = "critical" if incident.priority == "P0" else "warning"
    links = [{"href": page_url, "text": "Hark incident"}]
    return PageEvent(
        action="trigger",
        dedup_key=incident.dedup_key,
        summary=summary,
        source=f"caro-support/{incident.channels[0]}",
        severity=severity,
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
