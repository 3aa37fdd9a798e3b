"""A local fake of the PagerDuty APIs Hark uses, enforcing the real contract.

Events API v2, ``POST /v2/enqueue``, as PagerDuty documents it
(https://developer.pagerduty.com/docs/events-api-v2/trigger-events/, and its OpenAPI
description in https://github.com/PagerDuty/api-schema, ``reference/events-v2``): a JSON
object of at most 512 KB; ``routing_key`` 32 alphanumeric characters; ``event_action``
trigger/acknowledge/resolve; ``dedup_key`` a string of at most 255 characters, required for
acknowledge and resolve; a trigger's ``payload`` with ``summary`` (at most 1024 characters),
``source`` and ``severity`` (critical/error/warning/info), string
``component``/``group``/``class``, object ``custom_details``, ISO 8601 ``timestamp``;
``links`` need ``href``, ``images`` need ``src``. Answers 202 ``{status, message,
dedup_key}`` (``success``, ``Event processed``: the values the contract names) or 400
``{status, message, errors: [str]}``, whose wording is ours (the contract fixes their types
only). Accepted events move per-dedup_key incidents (triggered -> acknowledged -> resolved;
a trigger joins the open incident with its key).

REST ``GET /oncalls`` (https://developer.pagerduty.com/api-reference/, "List all of the
on-calls"): ``Authorization: Token token=...`` (401 otherwise), ``schedule_ids[]``,
``since``/``until`` (overlap), classic pagination (``limit`` at most 100, ``offset``,
``more``, ``total`` only with ``total=true``).

Scripted faults: ``fail_next`` (5xx, 429 in the shape of PagerDuty's answers, optional
delay), ``rate_limit_storm``, ``delay_s`` on every response, ``events_per_minute`` throttling.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_EVENT_BYTES = 512 * 1024
MAX_SUMMARY, MAX_DEDUP_KEY, ROUTING_KEY_LENGTH = 1024, 255, 32
MAX_LIMIT, ITERATION_LIMIT = 100, 10_000  # classic pagination: limit, offset + limit
UNRECOGNIZED = {  # a body that is not a JSON object
    "status": "unrecognized event",
    "message": "The body is not an event",
    "errors": ["the body does not parse as a JSON object"],
}
THROTTLED = {
    "status": "throttled",
    "message": "Too many events for this routing key; send this one again later",
}
REST_ERRORS = {
    400: {"message": "Invalid Input Provided", "code": 2001},
    401: {"message": "Authentication required", "code": 2006},
    429: {"message": "Rate Limit Exceeded", "code": 2020},
}
ONCALL_KEYS = {"user", "schedule", "escalation_policy", "escalation_level", "start", "end"}
REFERENCE_KEYS = {"id", "type", "summary", "self", "html_url"}


@dataclass
class RecordedRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes
    status: int = 0  # the status answered
    at: float = field(default_factory=time.time)  # when it arrived (epoch seconds)


@dataclass
class Incident:
    number: int
    dedup_key: str
    status: str = "triggered"  # triggered, acknowledged or resolved
    events: list[dict] = field(default_factory=list)


def oncall_entry(
    user_id: str,
    name: str,
    schedule_id: str | None = "PSCHED1",
    *,
    level: int = 1,
    start: str | None = None,
    end: str | None = None,
    policy_id: str = "PPOLICY1",
) -> dict:
    """One ``/oncalls`` entry in PagerDuty's shape, for ``set_oncalls``."""

    def ref(kind: str, id_: str, summary: str) -> dict:
        api, web = (
            f"https://api.pagerduty.com/{kind}s/{id_}",
            f"https://acme.pagerduty.com/{kind}s/{id_}",
        )
        return {
            "id": id_,
            "type": f"{kind}_reference",
            "summary": summary,
            "self": api,
            "html_url": web,
        }

    schedule = ref("schedule", schedule_id, f"Schedule {schedule_id}") if schedule_id else None
    return {
        "user": ref("user", user_id, name),
        "schedule": schedule,
        "escalation_policy": ref("escalation_policy", policy_id, f"Policy {policy_id}"),
        "escalation_level": level,
        "start": start,
        "end": end,
    }


def _time(value: str | None) -> datetime | None:
    """An ISO 8601 time (naive means UTC), or None when absent; ValueError if malformed."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class FakePagerDuty:
    def __init__(
        self,
        api_token: str = "fake-rest-api-token",
        *,
        routing_keys=None,
        events_per_minute: int | None = None,
        page_size: int = 25,
    ) -> None:
        self.api_token, self.page_size = api_token, page_size
        self.routing_keys = set(routing_keys) if routing_keys is not None else None  # None: any
        self.events_per_minute = events_per_minute  # None: no throttling
        self.delay_s = 0.0  # added to every response
        self.events: list[dict] = []  # accepted events, parsed
        self.requests: list[RecordedRequest] = []  # every request, refused ones too
        self.incidents: list[Incident] = []  # every incident ever opened, in order
        self._open: dict[str, Incident] = {}  # dedup_key -> its open incident
        self._oncalls: list[dict] = []
        self._faults: list[tuple[int, float]] = []  # (status, delay_s) for the next requests
        self._outage: tuple[float, int, float] | None = None  # (until epoch, status, delay_s)
        self._sent: dict[str, list[float]] = defaultdict(list)  # routing_key -> accept times
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakePagerDuty:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- scripting and inspection -------------------------------------------------------

    def fail_next(self, status: int, times: int = 1, delay_s: float = 0.0) -> None:
        """The next ``times`` requests answer ``status`` (after ``delay_s``), then normally."""
        with self._lock:
            self._faults.extend([(status, delay_s)] * times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._outage = None

    def outage(self, seconds: float, status: int, delay_s: float = 0.0) -> None:
        """For the next ``seconds``, every request answers ``status`` after ``delay_s`` (a
        delay beyond the client's timeout is a timeout); then service resumes."""
        with self._lock:
            self._outage = (time.time() + seconds, status, delay_s)

    def rate_limit_storm(self, count: int) -> None:
        self.fail_next(429, times=count)

    def set_oncalls(self, entries: list[dict]) -> None:
        for entry in entries:
            missing = ONCALL_KEYS - entry.keys() | REFERENCE_KEYS - entry.get("user", {}).keys()
            if missing:
                raise ValueError(f"on-call entry lacks {sorted(missing)}: {entry}")
            _time(entry["start"]), _time(entry["end"])  # ValueError if not ISO 8601
        with self._lock:
            self._oncalls = [dict(entry) for entry in entries]

    def triggers(self, dedup_key: str | None = None) -> list[dict]:
        with self._lock:
            return [
                e
                for e in self.events
                if e["event_action"] == "trigger" and dedup_key in (None, e["dedup_key"])
            ]

    def incident_count(self) -> int:
        with self._lock:
            return len(self.incidents)

    def open_incidents(self) -> list[Incident]:
        with self._lock:
            return list(self._open.values())

    def first_trigger_times(self) -> dict[str, float]:
        """dedup_key -> when its first accepted trigger arrived (epoch seconds)."""
        with self._lock:
            accepted = [
                r
                for r in self.requests
                if r.status == 202 and urlparse(r.path).path == "/v2/enqueue"
            ]
        first: dict[str, float] = {}
        for request in accepted:
            event = json.loads(request.body)
            key = event.get("dedup_key")
            if event.get("event_action") == "trigger" and key is not None:
                first[key] = min(first.get(key, request.at), request.at)
        return first

    # --- HTTP ---------------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                self._serve()

            def do_POST(self):
                self._serve()

            def _serve(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer, delay = fake._answer(self.command, self.path, self.headers, body)
                time.sleep(delay)
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out
                    pass

        return Handler

    def _answer(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict, float]:
        recorded = RecordedRequest(method, path, dict(headers.items()), body)
        route = urlparse(path).path
        with self._lock:
            self.requests.append(recorded)
            if self._outage and time.time() >= self._outage[0]:
                self._outage = None
            if self._faults or self._outage:
                status, delay = self._faults.pop(0) if self._faults else self._outage[1:]
                recorded.status = status
                return status, self._fault_body(status, route), self.delay_s + delay
            if method == "POST" and route == "/v2/enqueue":
                status, answer = self._enqueue(body)
            elif method == "GET" and route == "/oncalls":
                status, answer = self._oncalls_page(path, headers)
            else:
                status, answer = 404, {"error": {"message": "Not Found", "code": 2100}}
            recorded.status = status
            return status, answer, self.delay_s

    @staticmethod
    def _fault_body(status: int, route: str) -> dict:
        phrase = HTTPStatus(status).phrase
        if route != "/v2/enqueue":
            return {"error": REST_ERRORS.get(status, {"message": phrase, "code": 2000})}
        if status == 429:
            return THROTTLED
        return {
            "status": phrase,
            "message": "The event could not be processed.",
            "errors": [phrase],
        }

    # --- Events API v2 ------------------------------------------------------------------

    def _enqueue(self, body: bytes) -> tuple[int, dict]:
        if len(body) > MAX_EVENT_BYTES:
            return _invalid([f"the event is too large (over {MAX_EVENT_BYTES} bytes)"])
        try:
            event = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return 400, UNRECOGNIZED
        if not isinstance(event, dict):
            return 400, UNRECOGNIZED
        errors = _event_errors(event)
        if not errors and self.routing_keys is not None:
            errors = [] if event["routing_key"] in self.routing_keys else ["Invalid routing key"]
        if errors:
            return _invalid(errors)
        if self.events_per_minute is not None:
            now, sent = time.monotonic(), self._sent[event["routing_key"]]
            sent[:] = [t for t in sent if now - t < 60]
            if len(sent) >= self.events_per_minute:
                return 429, THROTTLED
            sent.append(now)
        event = dict(event)
        event.setdefault("dedup_key", uuid.uuid4().hex)
        self.events.append(event)
        self._apply(event)
        return 202, {
            "status": "success",
            "message": "Event processed",
            "dedup_key": event["dedup_key"],
        }

    def _apply(self, event: dict) -> None:
        """PagerDuty's incident life cycle for one dedup_key."""
        key, action = event["dedup_key"], event["event_action"]
        incident = self._open.get(key)
        if action == "trigger" and incident is None:
            incident = Incident(len(self.incidents) + 1, key)
            self.incidents.append(incident)
            self._open[key] = incident
        if incident is None:  # acknowledge or resolve of nothing open: accepted, no effect
            return
        incident.events.append(event)
        if action == "acknowledge":
            incident.status = "acknowledged"
        elif action == "resolve":
            incident.status = "resolved"
            del self._open[key]

    # --- REST GET /oncalls --------------------------------------------------------------

    def _oncalls_page(self, path: str, headers) -> tuple[int, dict]:
        if headers.get("Authorization") != f"Token token={self.api_token}":
            return 401, {"error": REST_ERRORS[401]}
        query = parse_qs(urlparse(path).query, keep_blank_values=True)
        first = {name: values[0] for name, values in query.items()}
        try:
            since = _time(first.get("since")) or datetime.now(UTC)
            until = _time(first.get("until")) or since
            limit = min(int(first.get("limit", self.page_size)), MAX_LIMIT)
            offset = int(first.get("offset", 0))
        except ValueError as error:
            return 400, {"error": {**REST_ERRORS[400], "errors": [str(error)]}}
        problems = ["until is before since"] if until < since else []
        if limit < 1 or offset < 0 or offset + limit > ITERATION_LIMIT:
            problems.append(f"limit {limit} / offset {offset} out of range")
        if problems:
            return 400, {"error": {**REST_ERRORS[400], "errors": problems}}
        schedules = set(query.get("schedule_ids[]", []))
        matching = [
            entry
            for entry in self._oncalls
            if (not schedules or (entry["schedule"] or {}).get("id") in schedules)
            and (entry["start"] is None or _time(entry["start"]) <= until)
            and (entry["end"] is None or _time(entry["end"]) > since)
        ]
        page = matching[offset : offset + limit]
        total = len(matching) if first.get("total") in ("true", "1") else None
        return 200, {
            "oncalls": page,
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < len(matching),
            "total": total,
        }


def _invalid(errors: list[str]) -> tuple[int, dict]:
    return 400, {
        "status": "invalid event",
        "message": "The event breaks the contract",
        "errors": errors,
    }


def _event_errors(event: dict) -> list[str]:
    """Every way ``event`` breaks the Events API v2 contract (PagerDuty lists them all)."""
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or not key:
        errors.append("'routing_key' is missing or blank")
    else:
        if len(key) != ROUTING_KEY_LENGTH:
            errors.append(f"'routing_key' must be {ROUTING_KEY_LENGTH} characters long")
        if not key.isascii() or not key.isalnum():
            errors.append("'routing_key' must be letters and digits only")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' must be one of trigger, acknowledge or resolve")
    dedup_key = event.get("dedup_key")
    if dedup_key is None:
        if action in ("acknowledge", "resolve"):
            errors.append(f"'dedup_key' is required for event_action {action}")
    elif not isinstance(dedup_key, str) or not dedup_key:
        errors.append("'dedup_key' must be a non-blank string")
    elif len(dedup_key) > MAX_DEDUP_KEY:
        errors.append(f"'dedup_key' is too long (maximum is {MAX_DEDUP_KEY} characters)")
    for name in ("client", "client_url"):
        if name in event and not isinstance(event[name], str):
            errors.append(f"'{name}' must be a string")
    errors += _list_errors(event, "links", "href", ("text",))
    errors += _list_errors(event, "images", "src", ("href", "alt"))
    if action == "trigger":
        errors += _payload_errors(event.get("payload"))
    return errors


def _list_errors(event: dict, name: str, required: str, optional: tuple[str, ...]) -> list[str]:
    items = event.get(name)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return [f"'{name}' must be a list of objects"]
    errors = []
    for index, item in enumerate(items):
        if not isinstance(item.get(required), str):
            errors.append(f"'{name}[{index}].{required}' is missing or not a string")
        errors += [
            f"'{name}[{index}].{opt}' must be a string"
            for opt in optional
            if opt in item and not isinstance(item[opt], str)
        ]
    return errors


def _payload_errors(payload) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object (required for trigger)"]
    errors = []
    for name in ("summary", "source"):
        if not isinstance(payload.get(name), str) or not payload[name].strip():
            errors.append(f"'payload.{name}' is missing or blank")
    if isinstance(payload.get("summary"), str) and len(payload["summary"]) > MAX_SUMMARY:
        errors.append(f"'summary' is too long (maximum is {MAX_SUMMARY} characters)")
    if payload.get("severity") not in SEVERITIES:
        errors.append("'payload.severity' must be one of critical, error, warning or info")
    for name in ("component", "group", "class"):
        if name in payload and not isinstance(payload[name], str):
            errors.append(f"'payload.{name}' must be a string")
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
        errors.append("'payload.custom_details' must be an object")
    if "timestamp" in payload:
        try:
            _time(payload["timestamp"])
        except (TypeError, ValueError):
            errors.append("'payload.timestamp' is not an ISO 8601 date-time")
    return errors
