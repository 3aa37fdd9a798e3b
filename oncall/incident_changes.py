"""The next ``Incident`` record for each change ``oncall.incidents.IncidentStore`` makes.

Pure functions: each takes records (and the time) and returns new ones; none reads or
writes Redis, takes the lock or checks whether a change is allowed (the store does both).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from oncall.grouping import content_words, top_rule
from oncall.records import (
    Incident,
    IncidentReport,
    RuleExplanation,
    Urgency,
    dedup_key_for,
    timeline_entry,
)
from oncall.titles import clean_title
from rules.result import TriageRecord
from vocabulary.channels import CHANNELS, Channel
from vocabulary.redact import redact

MAX_LINKS = 20


def open_incident(
    report: IncidentReport, triage: TriageRecord, now: datetime, author: str = "Hark"
) -> Incident:
    """A new incident for the first report of a problem."""
    incident_id = f"inc-{now:%Y%m%d}-{uuid.uuid4().hex[:8]}"
    title = clean_title(report.text)
    urgency = report_urgency(triage)
    kind = " (a possible P0, low urgency)" if urgency == "low" else ""
    version = report.version
    opened = timeline_entry(
        now, "opened", f"{report.channel} report{kind}", author=author, link=report.url
    )
    return Incident(
        id=incident_id,
        status="triggered",
        priority=triage.priority,
        category=triage.category,
        rule=top_rule(triage),
        dedup_key=dedup_key_for(incident_id, urgency),
        urgency=urgency,
        title=title,
        opened_at=now,
        updated_at=now,
        last_report_at=now,
        mentions=(report.mention_id,),
        channels=(report.channel,),
        links=(report.url,) if report.url else (),
        explanation=_explanation(triage),
        words=tuple(sorted(content_words(report.text))),
        versions=(version,) if version else (),
        cause=report.cause,
        model_p0=(triage.model or {}).get("P0"),
        timeline=(opened,),
    )


def report_urgency(triage: TriageRecord) -> Urgency:
    """A report's urgency: its triage's, and high when it has none (below P0, or a triage
    stored before urgency existed)."""
    return "low" if triage.urgency == "low" else "high"


def raises_urgency(incident: Incident, urgency: Urgency) -> bool:
    """A report at ``urgency`` makes this open possible P0 a sure one."""
    return urgency == "high" and incident.urgency == "low" and incident.status != "resolved"


def filed(
    found: Incident | None,
    report: IncidentReport,
    triage: TriageRecord,
    now: datetime,
    urgency: Urgency,
) -> tuple[Incident, str]:
    """A new report filed: a new incident, or ``found`` (the one it belongs to) joined,
    reopened or raised by it; with the outcome ``record_report`` returns."""
    if found is None:
        return open_incident(report, triage, now), "opened"
    joined = found.with_report(report, now, MAX_LINKS)
    if found.status == "resolved":
        return _reopened(joined, now, urgency), "reopened"
    if raises_urgency(found, urgency):
        return raised_by(joined, report, now), "raised"
    return joined, "joined"


def raised_by(incident: Incident, report: IncidentReport, now: datetime) -> Incident:
    """The incident made high urgency by a high-urgency report that joined it."""
    detail = (
        f"a high-urgency {report.channel} report joined: paged again at high urgency on"
        f" {dedup_key_for(incident.id, 'high')}; the low-urgency alert is resolved"
    )
    return incident.raised(now, "raised", detail)


def _reopened(incident: Incident, now: datetime, urgency: Urgency) -> Incident:
    """A resolved incident triggered again by a new report, paged afresh at its urgency."""
    detail = "a new report after resolution" + (", a possible P0" if urgency == "low" else "")
    return incident.moved("triggered", now, "reopened", detail).at_urgency(urgency)


def incident_path(incident_id: str) -> str:
    """The incident's page, as a path of Hark's own site."""
    return f"/incidents/{incident_id}"


def _channels(mentions: tuple[str, ...]) -> tuple[Channel, ...]:
    """The channels of these mentions, in order of first appearance ("<channel>:<id>")."""
    found = (mention.partition(":")[0] for mention in mentions)
    return tuple(dict.fromkeys(ch for ch in found if ch in CHANNELS))  # type: ignore[misc]


def without_report(incident: Incident, report: IncidentReport) -> Incident:
    """The incident without one of its reports."""
    mentions = tuple(m for m in incident.mentions if m != report.mention_id)
    links = tuple(link for link in incident.links if link != report.url)
    return incident.model_copy(
        update={"mentions": mentions, "channels": _channels(mentions), "links": links}
    )


def absorbing(survivor: Incident, absorbed: Incident, now: datetime, person: str) -> Incident:
    """The survivor of a merge with the absorbed incident's reports and history."""
    mentions = tuple(dict.fromkeys((*survivor.mentions, *absorbed.mentions)))
    history = tuple(
        entry.model_copy(update={"detail": f"{absorbed.id}: {entry.detail}".rstrip(": ")})
        for entry in absorbed.timeline
    )
    timeline = tuple(sorted((*survivor.timeline, *history), key=lambda entry: entry.at))
    count = len(absorbed.mentions)
    detail = f"{absorbed.id} merged in ({count} report{'s' if count != 1 else ''})"
    merged = survivor.model_copy(
        update={
            "mentions": mentions,
            "channels": _channels(mentions),
            "links": tuple(dict.fromkeys((*survivor.links, *absorbed.links)))[:MAX_LINKS],
            "versions": tuple(dict.fromkeys((*survivor.versions, *absorbed.versions))),
            "absorbed": (*survivor.absorbed, absorbed.id, *absorbed.absorbed),
            "last_report_at": max(survivor.last_report_at, absorbed.last_report_at),
            "timeline": timeline,
        }
    )
    return merged.noted(now, "merged", detail, author=person, link=incident_path(absorbed.id))


def closed_into(absorbed: Incident, survivor: Incident, now: datetime, person: str) -> Incident:
    """The absorbed incident of a merge: resolved (if it was not), pointing to the survivor."""
    detail, link = f"merged into {survivor.id}", incident_path(survivor.id)
    if absorbed.status == "resolved":
        closed = absorbed.noted(now, "merged", detail, author=person, link=link)
    else:
        closed = absorbed.moved("resolved", now, "merged", detail, person, link)
    return closed.model_copy(update={"merged_into": survivor.id})


def merge_raises(survivor: Incident, absorbed: Incident) -> bool:
    """An open sure P0 merged into an open possible one: the survivor must page high."""
    return (
        absorbed.status != "resolved"
        and absorbed.urgency == "high"
        and survivor.urgency == "low"
        and survivor.status != "resolved"
    )


def _explanation(triage: TriageRecord) -> tuple[RuleExplanation, ...]:
    return tuple(
        RuleExplanation(
            rule=r.id,
            weight=r.weight,
            levels=r.levels,
            matched=tuple(redact(m.text) for m in r.matches[:3]),
        )
        for r in triage.rules
    )
