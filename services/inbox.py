"""What the inbox shows, read from the stores: the reply queue's items with the incident each
was filed into and whether it is a possible P0, a page of the list (``desk.inbox``), and the
selected row in full: the message, the message it answers, its incident and the possible-P0
banner. Read-only: every change is a function of ``services.queue``.

Possible P0s are the P0s the triage gave low urgency whose incident is open and still low
urgency: a confirmation, a sure report joining it, a downgrade or a resolution settles one.
"""

from __future__ import annotations

from typing import cast

from pydantic import BaseModel, ConfigDict

from desk.drafts import clean_author
from desk.inbox import GROUP, Entry, InboxPage, InboxQuery, InboxRow, inbox_page
from desk.mentions import MentionStore
from desk.records import ClockedItem, StoredMention
from desk.reply_queue import ReplyQueue
from oncall.incidents import OF_MENTION, IncidentStore
from oncall.records import Incident
from services.context import Services
from services.queue import NAME

SUSPECT_SCAN = 200  # the newest P0 mentions looked at for possible P0s
ANSWERED_SHOWN = 200  # the latest answered items the "answered" view holds


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class Suspect(_Record):
    """A possible P0 waiting for a person: the mention, its low-urgency incident, and its
    reply-queue item while that waits for an answer."""

    mention: StoredMention
    incident: Incident
    item: ClockedItem | None = None


class Selected(_Record):
    """The selected row in full: its items (one, or an incident's waiting reports: its
    answered ones once none waits), the messages they answer (``parents``, by mention id),
    the incident and, for a possible P0, what the banner needs."""

    key: str
    items: tuple[ClockedItem, ...]
    incident: Incident | None = None
    parents: dict[str, StoredMention] = {}
    suspect: Suspect | None = None
    reply_text: str = ""  # an incident row's one reply to start from ({name}: each reporter)

    @property
    def item(self) -> ClockedItem:
        return self.items[0]

    @property
    def grouped(self) -> bool:
        return self.key.startswith(GROUP)


class InboxView(_Record):
    """Everything the inbox page shows: the list's page, the waiting totals, the selected
    row, and the possible P0s that have no item waiting (nothing to answer, but still to
    confirm or downgrade)."""

    page: InboxPage
    sla: dict[str, int]
    selected: Selected | None
    lone_suspects: tuple[Suspect, ...]


def suspects(services: Services, queue: ReplyQueue | None = None) -> list[Suspect]:
    """The possible P0s nobody has settled, oldest first."""
    queue = queue or ReplyQueue(services.connection)
    now, incidents = services.clock(), IncidentStore(services.connection)
    newest = MentionStore(services.connection).list({"priority": "P0"}, SUSPECT_SCAN, None)
    lows = [mention for mention in reversed(newest.items) if mention.triage.urgency == "low"]
    filed = incident_ids(services, [mention.id for mention in lows])
    found: list[Suspect] = []
    for mention in lows:
        incident_id = filed.get(mention.id)
        incident = incidents.get(incident_id) if incident_id else None
        if incident is None or incident.urgency != "low" or incident.status == "resolved":
            continue
        item = queue.get(mention.id)
        clocked = item.clocked(now) if item is not None and item.waiting else None
        found.append(Suspect(mention=mention, incident=incident, item=clocked))
    return found


def incident_ids(services: Services, mention_ids: list[str]) -> dict[str, str]:
    """The incident each mention was filed into (one MGET), for those filed into one."""
    if not mention_ids:
        return {}
    keys = [OF_MENTION.format(mention=mention_id) for mention_id in mention_ids]
    found = cast(list[bytes | str | None], services.connection.mget(keys))
    return {
        mention_id: raw.decode() if isinstance(raw, bytes) else raw
        for mention_id, raw in zip(mention_ids, found, strict=True)
        if raw
    }


def entries(services: Services, queue: ReplyQueue, suspect_ids: set[str]) -> list[Entry]:
    """The waiting items soonest due first, then the latest answered ones, each with its
    incident (the item's own ``incident_id``, else the incident store's record of it)."""
    now = services.clock()
    items = [*queue.all_waiting(now)]
    items += [item.clocked(now) for item in queue.recently_answered(ANSWERED_SHOWN)]
    filed = incident_ids(services, [item.mention_id for item in items if not item.incident_id])
    return [
        Entry(
            item=item,
            incident_id=item.incident_id or filed.get(item.mention_id),
            possible_p0=item.mention_id in suspect_ids,
        )
        for item in items
    ]


def inbox_view(services: Services, query: InboxQuery, me: str) -> InboxView:
    """The inbox as ``me`` sees it for ``query``: the selected row is the one ``query.sel``
    names (shown even when the filters hide it, as after an action moved it), else the first
    row of the page."""
    queue = ReplyQueue(services.connection)
    found = suspects(services, queue)
    by_mention = {suspect.mention.id: suspect for suspect in found}
    all_entries = entries(services, queue, set(by_mention))
    page = inbox_page(all_entries, query, me)
    key = query.sel or (page.rows[0].key if page.rows else None)
    selected = select(services, key, all_entries, by_mention) if key else None
    lone = tuple(suspect for suspect in found if suspect.item is None)
    return InboxView(
        page=page, sla=queue.sla_counts(services.clock()), selected=selected, lone_suspects=lone
    )


def select(
    services: Services, key: str, known: list[Entry], by_mention: dict[str, Suspect]
) -> Selected | None:
    """The row ``key`` names in full, or None when there is no such item or incident."""
    incidents = IncidentStore(services.connection)
    if key.startswith(GROUP):
        incident_id = key.removeprefix(GROUP)
        reports = [entry.item for entry in known if entry.incident_id == incident_id]
        # its waiting reports; once every one is answered, the answered ones (what was sent)
        items = tuple(item for item in reports if item.waiting) or tuple(reports)
        incident = incidents.get(incident_id)
        if incident is None or not items:
            return None
    else:
        item = next((entry.item for entry in known if entry.item.mention_id == key), None)
        if item is None:
            stored = ReplyQueue(services.connection).get(key)
            item = stored.clocked(services.clock()) if stored else None
        if item is None:
            return None
        items = (item,)
        filed = item.incident_id or incident_ids(services, [key]).get(key)
        incident = incidents.get(filed) if filed else None
    return Selected(
        key=key,
        items=items,
        incident=incident,
        parents=_parents(services, items),
        suspect=next((by_mention[i.mention_id] for i in items if i.mention_id in by_mention), None),
        reply_text=_shared_reply(items) if key.startswith(GROUP) else "",
    )


def _shared_reply(items: tuple[ClockedItem, ...]) -> str:
    """A report's draft as the reply to all, its reporter's name made ``{name}``: an X
    report's when there is one (drafted to fit X, so it fits every channel), else the
    first's."""
    item = next((item for item in items if item.channel == "x" and item.draft), items[0])
    text, name = (item.draft.text if item.draft else ""), clean_author(item.author)
    return text.replace(name, NAME) if name else text


def _parents(services: Services, items: tuple[ClockedItem, ...]) -> dict[str, StoredMention]:
    """The stored message each item's message answers (its thread's context), when kept."""
    store, parents = MentionStore(services.connection), {}
    for item in items[:1]:  # the selected item's; an incident row shows its reports instead
        mention = store.get(item.mention_id)
        if mention is None or not mention.reply_to:
            continue
        parent = store.get(f"{mention.channel}:{mention.reply_to}")
        if parent is not None:
            parents[item.mention_id] = parent
    return parents


__all__ = [
    "GROUP",
    "InboxQuery",
    "InboxRow",
    "InboxView",
    "Selected",
    "Suspect",
    "inbox_view",
    "incident_ids",
    "suspects",
]
