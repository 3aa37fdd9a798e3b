"""GitHub write-back: labels on each triaged issue, a first comment on a P0, and "Fixed in
vX.Y.Z" on an incident's issues when it is resolved with a version.

``GitHubBot.after_triage`` (a ``services.context.ChannelBot``) only queues
``write_back_issue`` on the ``write-back`` queue (served after paging and triage) and
returns: triage and paging never wait for GitHub. The jobs talk to GitHub through
``monitor.github_api.GitHubClient``; what labels to write without fighting a person is
``monitor.github_labels``.

Off (no ``HARK_GITHUB_TOKEN`` or no ``HARK_GITHUB_REPOS``), the bot is a dry run: each job
writes what it would have done to ``hark:github:write-backs`` (the newest first, as the
live jobs do) and to the incident's timeline, and sends nothing.

Nothing is done twice: labels are planned against the issue's labels and what Hark wrote
(``hark:github:written:<repo>#<n>``); a comment carries a hidden marker, is looked for
before it is posted, and is remembered once posted. A rate limit (primary or secondary)
pauses every GitHub job until it lifts (``hark:github:paused``) and reschedules the job
then; 404, 410, 422 and auth answers are recorded and not retried; 5xx is retried by RQ.
A refusal leaves nothing half-done: labels refused do not keep a P0's first comment from
being posted, a label Hark was adding is no longer taken for its own, and one deleted
issue among an incident's does not keep the others from their "Fixed in" comment.

A person's priority on GitHub wins (``monitor.github_labels``), and the webhook says who
acted: Hark marks each priority label it adds or takes off (``ECHO``, an hour), so the
``labeled``/``unlabeled`` delivery its own change causes is known as its own. A person's
``labeled`` priority is a correction; a person's ``unlabeled`` priority is their decision
that the issue carries no priority label Hark chose: Hark never puts one back, and the
triage priority is left as it is (taking a label off names no priority to change to, and
a revert could page, or stand an incident down, on a click).

A resolution with a version is the person's approval of the "Fixed in" comment: the job
posts it on every GitHub issue among the incident's reports, once per issue and version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any, cast

import yaml
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from desk.corrections import CorrectionError
from desk.mentions import MentionStore
from desk.records import StoredMention
from monitor.github_api import (
    GitHubAuthError,
    GitHubClient,
    GitHubError,
    GitHubInvalid,
    GitHubNotFound,
    GitHubRateLimited,
)
from monitor.github_labels import PRIORITIES, Wanted, Written, label_style, plan_labels
from monitor.github_labels import wanted_labels as labels_for
from monitor.sources.github import mention_native_issue
from oncall.incidents import OF_MENTION, IncidentStore
from services.context import Services
from services.jobs import WRITE_BACK_QUEUE
from vocabulary.redact import redact

_log = logging.getLogger(__name__)

WRITTEN = "hark:github:written:{issue}"  # hash: labels (JSON list), priority, pending
KNOWN_LABELS = "hark:github:labels:{repo}"  # labels known to exist in the repository
COMMENTED = "hark:github:comment:{issue}:{marker}"  # the posted comment's URL
SENDING = "hark:github:sending:{issue}:{marker}"  # a comment being posted (a short lock)
ECHO = "hark:github:echo:{issue}:{action}:{label}"  # Hark is adding/removing this label
ECHO_TTL_S = 3_600  # a webhook delivery arrives in seconds; an hour is ample
KNOWN_LABELS_TTL_S = 86_400  # a label deleted from the repository is made again, coloured
PAUSED = "hark:github:paused"  # set, with the wait as its expiry, by a rate-limit answer
WRITE_BACKS = "hark:github:write-backs"  # what was written (or would be): newest first
DRY_RUN_DONE = "hark:github:dry-run:{digest}"
REFUSED = (GitHubNotFound, GitHubInvalid, GitHubAuthError)  # answers a retry would not change
KEEP_WRITE_BACKS = 500
MAX_RESCHEDULES = 48  # rate-limit waits before a job gives up (and says so)
RETRIES = Retry(max=3, interval=[10, 60, 300])  # 5xx, timeouts: RQ retries
_REPO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+")
_ISSUE_URL = re.compile(r"https?://[^/]+/([^/]+/[^/]+)/issues/([0-9]+)")


@dataclass(frozen=True)
class IssueRef:
    repo: str  # owner/name
    number: int

    def __str__(self) -> str:
        return f"{self.repo}#{self.number}"


@dataclass(frozen=True)
class GitHubBot:
    """Writes back to GitHub with ``client``, on issues of ``repos``; a dry run without."""

    client: GitHubClient | None
    repos: frozenset[str] = frozenset()  # lower case owner/name
    name: str = "github"

    @property
    def dry_run(self) -> bool:
        return self.client is None

    def covers(self, ref: IssueRef) -> bool:
        return self.dry_run or ref.repo.lower() in self.repos

    def after_triage(
        self, services: Services, mention: StoredMention, incident_id: str | None
    ) -> None:
        ref = issue_of(mention)
        if ref is None or not mention.native_id.startswith("issue-") or not self.covers(ref):
            return
        _queue(services).enqueue(
            write_back_issue,
            mention.id,
            job_id=f"github-{_digest(mention.id, mention.triage.priority)}",
            description=f"github write-back {ref}",
            retry=RETRIES,
            result_ttl=0,
            failure_ttl=7 * 86_400,
        )

    def after_correction(self, services: Services, mention: StoredMention) -> None:
        """The issue's priority label follows a person's correction (unless a person set
        or took off a priority label on GitHub: theirs wins, as always)."""
        self.after_triage(services, mention, None)


def github_bot_from(token: str | None, repos: str | None, api_url: str) -> GitHubBot:
    """The bot for the settings: live with a token and repositories, else a dry run.
    Raises ``ValueError`` naming HARK_GITHUB_REPOS for an entry that is not owner/name."""
    entries = [entry.strip() for entry in (repos or "").split(",") if entry.strip()]
    wrong = [entry for entry in entries if not _REPO_NAME.fullmatch(entry)]
    if wrong:
        raise ValueError(f"HARK_GITHUB_REPOS: {wrong[0][:60]!r} is not owner/name")
    names = frozenset(entry.lower() for entry in entries)
    if not token or not names:
        return GitHubBot(None)
    return GitHubBot(GitHubClient(token, api_url), names)


def issue_of(mention: StoredMention) -> IssueRef | None:
    """The GitHub issue a mention (an issue or a comment on one) belongs to: from the
    webhook's payload, else from its URL."""
    if mention.channel != "github":
        return None
    raw = mention.raw or {}
    repository, issue = raw.get("repository"), raw.get("issue")
    if isinstance(repository, dict) and isinstance(issue, dict):
        name, number = repository.get("full_name"), issue.get("number")
        if isinstance(name, str) and name.count("/") == 1 and isinstance(number, int):
            return IssueRef(name, number)
    found = _ISSUE_URL.match(mention.url or "")
    return IssueRef(found[1], int(found[2])) if found else None


# ---------------------------------------------------------------------------- the jobs


def write_back_issue(services: Services, mention_id: str, attempt: int = 0) -> str:
    """Label the mention's issue with its triage; a P0's first comment. What it did, in a
    word (for the job's log)."""
    bot, mention = _bot(services), MentionStore(services.connection).get(mention_id)
    ref = issue_of(mention) if mention else None
    if bot is None or mention is None or ref is None:
        return "nothing to write"
    triage = mention.triage
    wanted = labels_for(triage.priority, triage.kind, triage.category)
    comment = "p0-first" if triage.priority == "P0" else None
    incident_id = _incident_of(services, mention_id)
    if bot.client is None:
        return _dry_run(services, ref, mention_id, incident_id, wanted, comment)
    return _live(services, bot.client, ref, (mention_id, attempt), incident_id, wanted, comment)


def post_fixed_in(services: Services, incident_id: str, version: str, attempt: int = 0) -> str:
    """Comment "Fixed in v<version>" on each GitHub issue of the incident's reports."""
    bot, incident = _bot(services), IncidentStore(services.connection).get(incident_id)
    if bot is None or incident is None:
        return "nothing to write"
    refs = _issues_of_incident(services, incident.mentions, bot)
    client = bot.client
    if client is None:
        for ref in refs:
            _record_dry_run(services, ref, incident_id, f"fixed-in {version}", [], "fixed-in")
        return f"dry run: {len(refs)} issues"
    if (wait := _paused_for(services)) is not None:
        return _reschedule(services, post_fixed_in, (incident_id, version), attempt, wait)
    refused = 0
    for ref in refs:  # one issue deleted or locked does not keep the others from theirs
        try:
            _comment_once(services, client, ref, "fixed-in", {"version": version}, incident_id)
        except GitHubRateLimited as limited:  # those done are remembered: not posted twice
            _pause(services, limited.wait_s)
            args = (incident_id, version)
            return _reschedule(services, post_fixed_in, args, attempt, limited.wait_s)
        except GitHubAuthError as error:  # the token: every other issue would be refused too
            _record(services, {"incident": incident_id, "issue": str(ref), "error": str(error)})
            return "refused"
        except REFUSED as error:
            refused += 1
            _record(services, {"incident": incident_id, "issue": str(ref), "error": str(error)})
            _note(
                services,
                incident_id,
                "github-comment-refused",
                f"Fixed in v{version} not posted on {ref}: GitHub answered {error.status}",
            )
    return f"commented on {len(refs) - refused} issues" + (
        f", {refused} refused" if refused else ""
    )


def _issues_of_incident(
    services: Services, mention_ids: tuple[str, ...], bot: GitHubBot
) -> list[IssueRef]:
    store, refs = MentionStore(services.connection), set()
    for mention_id in mention_ids:
        mention = store.get(mention_id) if mention_id.startswith("github:") else None
        ref = issue_of(mention) if mention else None
        if ref is not None and bot.covers(ref):
            refs.add(ref)
    return sorted(refs, key=str)


def offer_fixed_in(services: Services, incident_id: str, version: str) -> bool:
    """Queue the "Fixed in" comment for an incident resolved with ``version``, if any of its
    reports came from GitHub. Called by ``services.incidents.resolve_incident``."""
    incident = IncidentStore(services.connection).get(incident_id)
    if incident is None or not any(m.startswith("github:") for m in incident.mentions):
        return False
    _queue(services).enqueue(
        post_fixed_in,
        incident_id,
        version,
        job_id=f"github-fixed-{_digest(incident_id, version)}",
        description=f"github fixed-in {incident_id} {version}",
        retry=RETRIES,
        result_ttl=0,
        failure_ttl=7 * 86_400,
    )
    return True


# ------------------------------------------------------------- a person's label, from the webhook


def record_label_event(services: Services, payload: dict[str, Any]) -> str:
    """An ``issues`` ``labeled`` delivery: a priority label a person set is a correction
    (``correct_priority`` by ``github:<login>``), and the issue's priority is theirs from
    then on; Hark's own labels and other labels are not. What it did, in a few words (the
    webhook's answer)."""
    name, issue, ref, person = _label_delivery(payload, "labeled")
    if name not in PRIORITIES:
        return "not a priority label"
    mention_id = mention_native_issue(issue)  # a delivery without an issue id stops here
    if ref is not None:
        if _own_echo(services, ref, "labeled", name):
            return "Hark's own label"
        written = _written(services, ref)
        if written.person is None and name in {written.priority, written.pending}:
            return "Hark's own label"  # announced again after its mark expired
        services.connection.hset(WRITTEN.format(issue=ref), "person", name)
    from services.corrections import correct_priority  # corrections imports incidents

    try:
        correct_priority(services, mention_id, name, f"label {name} set on GitHub", person)
    except CorrectionError as error:
        return f"not a correction: {error}"
    finally:
        if ref is not None:
            _tidy_after_person(services, mention_id, name)
    return f"corrected to {name} by {person}"


def record_unlabel_event(services: Services, payload: dict[str, Any]) -> str:
    """An ``issues`` ``unlabeled`` delivery. A priority label a person took off (theirs or
    Hark's) is their decision about the issue's priority label: Hark records it and never
    puts a priority label back on that issue; a priority left on the issue is theirs. It is
    no correction: the triage priority stays (see the module's docstring). Hark's own
    removals are recognised and change nothing."""
    name, issue, ref, person = _label_delivery(payload, "unlabeled")
    if name not in PRIORITIES:
        return "not a priority label"
    if ref is None:
        return "no repository or issue number: nothing to record"
    if _own_echo(services, ref, "unlabeled", name):
        return "Hark's own removal"
    labels = issue.get("labels")
    left = sorted(
        str(label["name"])
        for label in (labels if isinstance(labels, list) else [])
        if isinstance(label, dict) and label.get("name") in PRIORITIES and label["name"] != name
    )
    decision = left[0] if left else "none"
    services.connection.hset(WRITTEN.format(issue=ref), "person", decision)
    _record(services, {"issue": str(ref), "person_removed": name, "by": person})
    return f"{name} taken off by {person}: Hark adds no priority label to {ref} again"


def _label_delivery(
    payload: dict[str, Any], action: str
) -> tuple[str, dict[str, Any], IssueRef | None, str]:
    """(the label's name, the issue, the issue's ref when the delivery names it, who acted)."""
    label, issue = payload.get("label"), payload.get("issue")
    repository, sender = payload.get("repository"), payload.get("sender")
    if not (isinstance(label, dict) and isinstance(issue, dict)):
        raise ValueError(f"an {action} event needs 'label' and 'issue' objects")
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    number = issue.get("number")
    ref = None
    if isinstance(full_name, str) and _REPO_NAME.fullmatch(full_name) and isinstance(number, int):
        ref = IssueRef(full_name, number)
    login = sender.get("login") if isinstance(sender, dict) else None
    person = f"github:{login}" if isinstance(login, str) and login else "github"
    return str(label.get("name")), issue, ref, person


def _own_echo(services: Services, ref: IssueRef, action: str, name: str) -> bool:
    """Whether Hark itself just made this change (and forget the mark: it is used once)."""
    return bool(services.connection.delete(ECHO.format(issue=ref, action=action, label=name)))


def _mark_echo(services: Services, ref: IssueRef, action: str, names: Iterable[str]) -> None:
    for name in names:
        if name in PRIORITIES:
            key = ECHO.format(issue=ref, action=action, label=name)
            services.connection.set(key, 1, ex=ECHO_TTL_S)


def _tidy_after_person(services: Services, mention_id: str, name: str) -> None:
    """Queue a write-back for the issue, so that Hark's own priority label, if still on it
    beside the person's, comes off (and a P0 a person set gets its first comment)."""
    if MentionStore(services.connection).get(mention_id) is None:
        return
    _queue(services).enqueue(
        write_back_issue,
        mention_id,
        job_id=f"github-{_digest(mention_id, 'person', name)}",
        description=f"github write-back after a person's {name}",
        retry=RETRIES,
        result_ttl=0,
        failure_ttl=7 * 86_400,
    )


# ------------------------------------------------------------------------------ live


def _live(
    services: Services,
    client: GitHubClient,
    ref: IssueRef,
    job: tuple[str, int],
    incident_id: str | None,
    wanted: Wanted,
    comment: str | None,
) -> str:
    mention_id, attempt = job
    if (wait := _paused_for(services)) is not None:
        return _reschedule(services, write_back_issue, (mention_id,), attempt, wait)
    outcomes: list[str] = []
    try:
        try:
            outcomes.append(_apply_labels(services, client, ref, wanted))
        except GitHubInvalid as error:  # a label refused: the P0's reporter still hears
            outcomes.append(_refused(services, ref, mention_id, error))
        if comment:
            _comment_once(services, client, ref, comment, {}, incident_id)
            outcomes.append(f"commented {comment} on {ref}")
    except GitHubRateLimited as limited:  # the rescheduled job does what is left
        _pause(services, limited.wait_s)
        return _reschedule(services, write_back_issue, (mention_id,), attempt, limited.wait_s)
    except REFUSED as error:  # the issue gone, or the token cannot write it
        outcomes.append(_refused(services, ref, mention_id, error))
    return "; ".join(outcomes)


def _refused(services: Services, ref: IssueRef, mention_id: str, error: Exception) -> str:
    _record(services, {"issue": str(ref), "mention": mention_id, "error": str(error)})
    _log.warning("github write-back on %s refused: %s", ref, error)
    return "refused"


def _apply_labels(services: Services, client: GitHubClient, ref: IssueRef, wanted: Wanted) -> str:
    connection, key = services.connection, WRITTEN.format(issue=ref)
    written = _written(services, ref)
    current = set(client.issue_labels(ref.repo, ref.number))
    plan = plan_labels(wanted, current, written)
    if plan.add:
        for name in plan.add:
            _ensure_label(services, client, ref.repo, name)
        if wanted.priority in plan.add:
            connection.hset(key, "pending", wanted.priority)
        _mark_echo(services, ref, "labeled", plan.add)
        try:
            current = set(client.add_labels(ref.repo, ref.number, list(plan.add)))
        except (*REFUSED, GitHubRateLimited):  # not added: the label is no longer Hark's
            connection.hdel(key, "pending")
            for name in plan.add:
                connection.delete(ECHO.format(issue=ref, action="labeled", label=name))
            raise
    for name in plan.remove:
        _mark_echo(services, ref, "unlabeled", [name])
        try:
            client.remove_label(ref.repo, ref.number, name)
        except (*REFUSED, GitHubRateLimited):  # not taken off: a person's removal is theirs
            connection.delete(ECHO.format(issue=ref, action="unlabeled", label=name))
            raise
    mine = set(written.labels) | (set(plan.add) & current)
    fields = {"labels": json.dumps(sorted(mine))}
    if plan.person_priority is None:
        fields["priority"] = wanted.priority
    connection.hset(key, mapping=fields)
    connection.hdel(key, "pending")
    if plan.empty:
        return "labels already right"
    _record(
        services,
        {"issue": str(ref), "added": list(plan.add), "removed": list(plan.remove)}
        | ({"kept_person_priority": plan.person_priority} if plan.person_priority else {}),
    )
    return f"labelled {ref}"


def _ensure_label(services: Services, client: GitHubClient, repo: str, name: str) -> None:
    key = KNOWN_LABELS.format(repo=repo.lower())
    if services.connection.sismember(key, name):
        return
    color, description = label_style(name)
    client.create_label(repo, name, color, description)
    services.connection.sadd(key, name)
    services.connection.expire(key, KNOWN_LABELS_TTL_S)


def _comment_once(
    services: Services,
    client: GitHubClient,
    ref: IssueRef,
    template_id: str,
    values: dict[str, str],
    incident_id: str | None,
) -> None:
    marker = template_id + "".join(f":{value}" for value in values.values())
    done, lock = (
        COMMENTED.format(issue=ref, marker=marker),
        SENDING.format(issue=ref, marker=marker),
    )
    connection = services.connection
    if connection.exists(done):
        return
    if not connection.set(lock, 1, nx=True, ex=120):
        raise RuntimeError(f"a comment on {ref} is being posted by another job: retried later")
    try:
        hidden = f"<!-- hark:{marker} -->"
        for old in client.comments(ref.repo, ref.number):
            if hidden in str(old.get("body") or ""):
                connection.set(done, str(old.get("html_url") or ""))
                return
        body = comment_text(template_id, values) + "\n\n" + hidden
        posted = client.comment(ref.repo, ref.number, body)
        connection.set(done, posted.url)
    finally:
        connection.delete(lock)
    _record(services, {"issue": str(ref), "comment": marker, "url": posted.url})
    if incident_id:
        _note(
            services, incident_id, "github-comment", f"commented {template_id} on {ref}", posted.url
        )


# --------------------------------------------------------------------------- dry run


def _dry_run(
    services: Services,
    ref: IssueRef,
    mention_id: str,
    incident_id: str | None,
    wanted: Wanted,
    comment: str | None,
) -> str:
    _record_dry_run(services, ref, incident_id, mention_id, list(wanted.all), comment)
    return "dry run"


def _record_dry_run(
    services: Services,
    ref: IssueRef,
    incident_id: str | None,
    what: str,
    labels: list[str],
    comment: str | None,
) -> None:
    """Once per issue and write-back: a redelivery or a retry records nothing new."""
    marker = DRY_RUN_DONE.format(digest=_digest(str(ref), what, *labels, comment or ""))
    if not services.connection.set(marker, 1, nx=True, ex=30 * 86_400):
        return
    _record(services, {"dry_run": True, "issue": str(ref), "labels": labels, "comment": comment})
    if incident_id and comment:
        _note(
            services,
            incident_id,
            "github-dry-run",
            f"would comment {comment} on {ref} (set HARK_GITHUB_TOKEN and HARK_GITHUB_REPOS)",
        )


# ------------------------------------------------------------------------ plumbing


def comment_text(template_id: str, values: dict[str, str]) -> str:
    """A comment from desk/data/github-comments.yaml, redacted."""
    return redact(_comment_templates()[template_id].format(**values).strip())


@cache
def _comment_templates() -> dict[str, str]:
    text = resources.files("desk").joinpath("data/github-comments.yaml").read_text("utf-8")
    return cast(dict[str, str], yaml.safe_load(text))


def write_backs(services: Services, limit: int = 50) -> list[dict[str, Any]]:
    """The newest write-back records (live and dry run), for the overview."""
    raw = services.connection.lrange(WRITE_BACKS, 0, limit - 1)
    return [json.loads(entry) for entry in raw]


def _record(services: Services, entry: dict[str, Any]) -> None:
    line = json.dumps({"at": services.clock().isoformat(), **entry})
    with services.connection.pipeline() as pipe:
        pipe.lpush(WRITE_BACKS, line)
        pipe.ltrim(WRITE_BACKS, 0, KEEP_WRITE_BACKS - 1)
        pipe.execute()


def _written(services: Services, ref: IssueRef) -> Written:
    fields = services.connection.hgetall(WRITTEN.format(issue=ref))
    got = {key.decode(): value.decode() for key, value in fields.items()}
    return Written(
        frozenset(json.loads(got.get("labels", "[]"))),
        got.get("priority"),
        got.get("pending"),
        got.get("person"),
    )


def _pause(services: Services, wait_s: float) -> None:
    services.connection.set(PAUSED, 1, px=max(int(wait_s * 1000), 1000))


def _paused_for(services: Services) -> float | None:
    left = services.connection.pttl(PAUSED)
    return left / 1000 if left and left > 0 else None


def _reschedule(
    services: Services, job: Any, args: tuple[str, ...], attempt: int, wait_s: float
) -> str:
    if attempt >= MAX_RESCHEDULES:
        _record(services, {"job": job.__name__, "args": list(args), "error": "rate-limited"})
        return "gave up: rate-limited"
    # RQ's scheduler keeps whole seconds and may run a job up to one early: one more second
    # makes sure the pause has lifted when it runs.
    _queue(services).enqueue_in(
        timedelta(seconds=math.ceil(wait_s) + 1),
        job,
        *args,
        attempt + 1,
        job_id=f"github-{_digest(*args)}-later-{attempt + 1}",
        retry=RETRIES,
        result_ttl=0,
        failure_ttl=7 * 86_400,
    )
    return f"rate-limited: again in {wait_s:.0f} s"


def _note(
    services: Services, incident_id: str, event: str, text: str, link: str | None = None
) -> None:
    """A line on the incident's timeline, by Hark."""
    IncidentStore(services.connection).note(
        incident_id, services.clock(), event, text, author="Hark", link=link or None
    )


def _bot(services: Services) -> GitHubBot | None:
    return next((bot for bot in services.bots if isinstance(bot, GitHubBot)), None)


def _incident_of(services: Services, mention_id: str) -> str | None:
    raw = services.connection.get(OF_MENTION.format(mention=mention_id))
    return raw.decode() if isinstance(raw, bytes) else None


def _queue(services: Services) -> Queue:
    return Queue(WRITE_BACK_QUEUE, connection=services.connection, serializer=JSONSerializer)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


__all__ = [
    "GitHubBot",
    "GitHubError",
    "IssueRef",
    "github_bot_from",
    "issue_of",
    "offer_fixed_in",
    "post_fixed_in",
    "record_label_event",
    "record_unlabel_event",
    "write_back_issue",
    "write_backs",
]
