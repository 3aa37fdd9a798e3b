"""Incidents: P0 reports of the same problem grouped into one, with a state and a timeline.

Launch day brings forty "crashes on launch" posts; they must page once. A report joins an
open incident (or reopens a recently resolved one) when it arrives within the grouping
window and either fired the same top rule, or has the same category and similar words.

Every change is a read-modify-write of one JSON record under a Redis lock shared by all
workers (P0 traffic is low; correctness matters more than parallelism here), and is
idempotent for a re-run job: the mention -> incident link is recorded once.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from redis.client import Pipeline

from desk.mentions import finite_score
from rules import normalize
from vocabulary.redact import redact

RECORD = "hark:incident:{id}"
OF_MENTION = "hark:incident-of:{mention}"
BY_TIME = "hark:incidents:by-time"
ACTIVE = "hark:incidents:active"  # score: last report; resolved ones stay for reopening
BY_STATUS = "hark:incidents:status:{status}"
LOCK = "hark:incidents:lock"

STATUSES = ("triggered", "acknowledged", "resolved", "escalated", "page-failed")
OPEN = {"triggered", "acknowledged", "escalated", "page-failed"}
ALLOWED = {
    "triggered": {"acknowledged", "resolved", "escalated", "page-failed"},
    "escalated": {"acknowledged", "resolved", "page-failed"},
    "page-failed": {"triggered", "acknowledged", "resolved", "escalated"},
    "acknowledged": {"resolved"},
    "resolved": {"triggered"},
}
SIMILAR = 0.3  # Jaccard similarity of content words that groups same-category reports
_WORD = re.compile(r"[^\W\d_]{3,}")


class IncidentError(ValueError):
    """A change the incident's state does not allow; the message says why."""


def content_words(text: str) -> set[str]:
    return set(_WORD.findall(normalize(text))[:200])


def similarity(left: set[str], right: set[str]) -> float:
    return len(left & right) / len(left | right) if left and right else 0.0


class IncidentStore:
    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    @contextmanager
    def _locked(self):
        with self.connection.lock(LOCK, timeout=30, blocking_timeout=30):
            yield

    def get(self, incident_id: str) -> dict[str, Any] | None:
        raw = self.connection.get(RECORD.format(id=incident_id))
        return json.loads(raw) if raw else None

    def record_report(
        self,
        mention: dict,
        triage: dict,
        now: datetime,
        window: timedelta,
        on_opened: Callable[[Pipeline, dict], None] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """File a P0 report; returns the incident and "opened", "joined", "reopened" or
        "known" (this mention was filed before: a re-run job).

        ``on_opened(pipeline, incident)`` runs for "opened" and "reopened" inside the
        transaction that saves the incident, so that whatever it queues (the page) is
        written together with the incident or not at all: a worker killed in between
        cannot leave an incident that was filed but never paged."""
        with self._locked():
            known = self.connection.get(OF_MENTION.format(mention=mention["id"]))
            if known:
                return self.get(known.decode()), "known"
            incident = self._match(mention, triage, now, window)
            if incident is None:
                incident, outcome = self._new(mention, triage, now), "opened"
            else:
                outcome = "reopened" if incident["status"] == "resolved" else "joined"
                self._join(incident, mention, now, outcome)
            with self.connection.pipeline(transaction=True) as pipe:
                pipe.multi()  # explicit, as RQ's enqueue into this pipeline expects
                pipe.set(OF_MENTION.format(mention=mention["id"]), incident["id"])
                self._save(incident, pipe)
                if on_opened is not None and outcome in ("opened", "reopened"):
                    on_opened(pipe, incident)
                pipe.execute()
            return incident, outcome

    def _match(self, mention: dict, triage: dict, now: datetime, window: timedelta) -> dict | None:
        since = (now - window).timestamp()
        words = content_words(mention["text"])
        rule, category = _top_rule(triage), triage["category"]
        best, best_score = None, 0.0
        for raw_id in self.connection.zrevrangebyscore(ACTIVE, "+inf", since):
            incident = self.get(raw_id.decode())
            if incident is None:
                continue
            score = similarity(words, set(incident["words"]))
            same_rule = rule is not None and rule == incident["rule"]
            if (same_rule or (category == incident["category"] and score >= SIMILAR)) and (
                best is None or score > best_score
            ):
                best, best_score = incident, score
        return best

    def _new(self, mention: dict, triage: dict, now: datetime) -> dict[str, Any]:
        incident_id = f"inc-{now:%Y%m%d}-{uuid.uuid4().hex[:8]}"
        title = " ".join(redact(mention["text"]).split())[:160]
        return {
            "id": incident_id,
            "status": "triggered",
            "priority": triage["priority"],
            "category": triage["category"],
            "rule": _top_rule(triage),
            "dedup_key": f"hark-{incident_id}",
            "title": title,
            "opened_at": now.isoformat(),
            "updated_at": now.isoformat(),
            "last_report_at": now.isoformat(),
            "mentions": [mention["id"]],
            "channels": [mention["channel"]],
            "links": [mention["url"]] if mention.get("url") else [],
            "explanation": _explanation(triage),
            "words": sorted(content_words(mention["text"])),
            "escalations": 0,
            "pages": [],
            "timeline": [_event(now, "opened", f"{mention['channel']} report: {title[:100]}")],
        }

    def _join(self, incident: dict, mention: dict, now: datetime, outcome: str) -> None:
        incident["mentions"].append(mention["id"])
        if mention["channel"] not in incident["channels"]:
            incident["channels"].append(mention["channel"])
        if mention.get("url") and len(incident["links"]) < 20:
            incident["links"].append(mention["url"])
        incident["last_report_at"] = incident["updated_at"] = now.isoformat()
        detail = f"{mention['channel']} report {len(incident['mentions'])}"
        incident["timeline"].append(_event(now, "report", detail))
        if outcome == "reopened":
            self._move(incident, "triggered", now, "reopened", "a new report after resolution")

    def transition(
        self, incident_id: str, status: str, now: datetime, event: str, detail: str = ""
    ) -> dict[str, Any]:
        """Change the status (only along ALLOWED) and note it in the timeline."""
        return self.change_status(incident_id, status, now, event, detail)[0]

    def change_status(
        self, incident_id: str, status: str, now: datetime, event: str, detail: str = ""
    ) -> tuple[dict[str, Any], bool]:
        """``transition``, also saying whether anything changed: acknowledging an
        acknowledged incident is harmless, and must not tell PagerDuty again."""
        with self._locked():
            incident = self._require(incident_id)
            if incident["status"] == status:
                return incident, False
            if status not in ALLOWED[incident["status"]]:
                raise IncidentError(
                    f"{incident_id} is {incident['status']}: it cannot become {status}"
                )
            self._move(incident, status, now, event, detail)
            self._save(incident)
            return incident, True

    def note(self, incident_id: str, now: datetime, event: str, detail: str = "", **extra) -> dict:
        """Add a timeline entry (and a page record, for page events)."""
        with self._locked():
            incident = self._require(incident_id)
            incident["timeline"].append(_event(now, event, detail, **extra))
            if event.startswith("page"):
                incident["pages"].append({"at": now.isoformat(), "event": event, **extra})
            incident["updated_at"] = now.isoformat()
            self._save(incident)
            return incident

    def by_dedup_key(self, dedup_key: str) -> dict[str, Any] | None:
        prefix = "hark-"
        return self.get(dedup_key[len(prefix) :]) if dedup_key.startswith(prefix) else None

    def list(
        self, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict], str | None]:
        """Newest first; ``cursor`` is the ``next`` of the previous page ("<score>:<id>"),
        so incidents opened in the same second are neither repeated nor skipped."""
        key = BY_STATUS.format(status=status) if status else BY_TIME
        top: float | str = "+inf"
        after_id = None
        if cursor:
            score, _, after_id = cursor.partition(":")
            top = finite_score(score)
        found: list[tuple[float, str, dict]] = []
        offset = 0
        while len(found) <= limit:  # one more than a page: is there a next page?
            rows = self.connection.zrevrangebyscore(
                key, top, "-inf", start=offset, num=limit * 2, withscores=True
            )
            if not rows:
                break
            offset += len(rows)
            for raw, score in rows:
                incident_id = raw.decode()
                if after_id and (score, incident_id) >= (top, after_id):
                    continue  # shown on an earlier page
                incident = self.get(incident_id)
                if incident:
                    found.append((score, incident_id, public(incident)))
                if len(found) > limit:
                    break
        page = found[:limit]
        after = f"{page[-1][0]!r}:{page[-1][1]}" if len(found) > limit else None
        return [incident for _, _, incident in page], after

    def between(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Every incident opened in [since, until), oldest first."""
        ids = self.connection.zrangebyscore(BY_TIME, since.timestamp(), f"({until.timestamp()}")
        return [public(self.get(raw.decode())) for raw in ids if self.get(raw.decode())]

    def _require(self, incident_id: str) -> dict[str, Any]:
        incident = self.get(incident_id)
        if incident is None:
            raise IncidentError(f"no incident {incident_id}")
        return incident

    def _move(self, incident: dict, status: str, now: datetime, event: str, detail: str) -> None:
        self.connection.zrem(BY_STATUS.format(status=incident["status"]), incident["id"])
        incident["status"] = status
        incident["updated_at"] = now.isoformat()
        incident["timeline"].append(_event(now, event, detail))
        if status == "escalated":
            incident["escalations"] += 1

    def _save(self, incident: dict, pipe: Pipeline | None = None) -> None:
        """Write the incident and its indexes in one transaction (``pipe``'s, if given)."""
        if pipe is None:
            with self.connection.pipeline(transaction=True) as own:
                self._save(incident, own)
                own.execute()
            return
        opened = datetime.fromisoformat(incident["opened_at"]).timestamp()
        last = datetime.fromisoformat(incident["last_report_at"]).timestamp()
        pipe.set(RECORD.format(id=incident["id"]), json.dumps(incident))
        pipe.zadd(BY_TIME, {incident["id"]: opened})
        pipe.zadd(ACTIVE, {incident["id"]: last})
        for status in STATUSES:
            if status != incident["status"]:
                pipe.zrem(BY_STATUS.format(status=status), incident["id"])
        pipe.zadd(BY_STATUS.format(status=incident["status"]), {incident["id"]: opened})


def public(incident: dict | None) -> dict | None:
    """The API shape: without the grouping words."""
    if incident is None:
        return None
    return {key: value for key, value in incident.items() if key != "words"}


def _top_rule(triage: dict) -> str | None:
    rules = [r for r in triage["rules"] if triage["priority"] in r["levels"] and r["weight"] > 0]
    return max(rules, key=lambda r: r["weight"])["id"] if rules else None


def _explanation(triage: dict) -> list[dict[str, Any]]:
    return [
        {
            "rule": r["id"],
            "weight": r["weight"],
            "levels": r["levels"],
            "matched": [redact(m["text"]) for m in r["matches"][:3]],
        }
        for r in triage["rules"]
    ]


def _event(now: datetime, event: str, detail: str, **extra) -> dict[str, Any]:
    return {"at": now.isoformat(), "event": event, "detail": redact(detail), **extra}
