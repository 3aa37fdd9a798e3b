"""The reply queue as an inbox: which items a view shows (filters, a search, a page of rows),
how many each filter would show, and an incident's reports folded into one row. Pure: the
caller (``services.inbox``) reads the items, the incidents they belong to and the possible
P0s, and passes them in as ``Entry`` records.

An escalated item (``ESCALATED``: a bot found it unanswered for an hour, as the Discord bot
does for #help) is flagged and, while it waits, listed on top of the ordinary rows: it is a
person told "we'll respond soon" and still waiting, where the team looks first; the
"Escalated" filter finds every one of them beyond the first page.

A view is an ``InboxQuery``, read from a page's URL query or the API's arguments: it is
lenient (a value it does not know is dropped, never an error), so that an old or edited link
still opens the inbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

from desk.records import ClockedItem
from rules.schema import LEVELS
from vocabulary.channels import CHANNELS

PAGE_SIZE = 25  # rows a page: one line each, so the page stays short at launch-day volume
GROUP = "incident:"  # a selected row's key for an incident's reports: "incident:<id>"
Status = Literal["waiting", "open", "claimed", "answered"]
STATUSES: tuple[Status, ...] = ("waiting", "open", "claimed", "answered")
TOGGLES = ("mine", "unclaimed", "overdue", "possible_p0", "escalated")
ESCALATED = "escalated"  # the history event of an item left unanswered too long
SEARCH_MAX = 200  # characters of a search kept


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Entry(_Record):
    """An item with what the inbox knows about it beyond the item: the incident it was filed
    into, and whether it is a possible P0 nobody has confirmed or downgraded yet."""

    item: ClockedItem
    incident_id: str | None = None
    possible_p0: bool = False

    @property
    def escalated(self) -> bool:
        """Escalated for want of an answer, and still never answered (a reply settles it,
        a reopening after one does not bring it back)."""
        item = self.item
        return item.first_response_at is None and any(
            entry.event == ESCALATED for entry in item.history
        )


class InboxQuery(_Record):
    """What a view shows: the filters, the search, the page and the selected row."""

    priority: str | None = None
    channel: str | None = None
    status: Status = "waiting"
    mine: bool = False
    unclaimed: bool = False
    overdue: bool = False
    possible_p0: bool = False
    escalated: bool = False
    q: str = ""
    page: int = 1
    sel: str | None = None  # a mention id, or "incident:<id>"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> InboxQuery:
        """The query of ``args`` (a URL's query), each value checked on its own."""
        priority, channel = args.get("priority") or None, args.get("channel") or None
        status = args.get("status") or "waiting"
        try:
            page = max(1, min(int(args.get("page") or 1), 10_000))
        except ValueError:
            page = 1
        return cls(
            priority=priority if priority in LEVELS else None,
            channel=channel if channel in CHANNELS else None,
            status=status if status in STATUSES else "waiting",
            q=" ".join((args.get("q") or "").split())[:SEARCH_MAX],
            page=page,
            sel=(args.get("sel") or None),
            **{name: args.get(name) in ("1", "on", "true", "yes") for name in TOGGLES},
        )

    def args(self, **changes: object) -> dict[str, str]:
        """The URL query of this view with ``changes``: only what differs from the default
        view, so links stay short. A change of filter or search starts again at page 1."""
        if changes.keys() - {"page", "sel"}:
            changes.setdefault("page", 1)
        view = self.model_copy(update=changes)
        shown: dict[str, str] = {}
        for name, value in view.model_dump().items():
            if value in (None, "", False) or (name, value) in (("status", "waiting"), ("page", 1)):
                continue
            shown[name] = "1" if value is True else str(value)
        return shown

    def filtered(self) -> bool:
        """Whether anything narrows the view (beyond which status it shows)."""
        return bool(self.priority or self.channel or self.q) or any(
            getattr(self, name) for name in TOGGLES
        )


class InboxRow(_Record):
    """One line of the list: an item, or an incident's reports in this view (soonest due
    first), answered with one reply."""

    key: str  # the ``sel`` that selects it
    entries: tuple[Entry, ...]
    incident_id: str | None = None
    reports: int = 0  # the incident's reports in its status, whatever the other filters

    @property
    def lead(self) -> ClockedItem:
        return self.entries[0].item

    @property
    def grouped(self) -> bool:
        return len(self.entries) > 1

    @property
    def possible_p0(self) -> bool:
        return any(entry.possible_p0 for entry in self.entries)

    @property
    def escalated(self) -> bool:
        return any(entry.escalated for entry in self.entries)

    @property
    def claimers(self) -> tuple[str, ...]:
        return tuple(
            sorted({entry.item.claimed_by for entry in self.entries if entry.item.claimed_by})
        )

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(sorted({entry.item.channel for entry in self.entries}))


class InboxPage(_Record):
    """A page of the list, how many items the view holds, and each filter's count."""

    query: InboxQuery
    rows: tuple[InboxRow, ...]
    matched_items: int  # items the view shows, over all its pages
    matched_rows: int
    page: int  # the page shown (the last, when the query asked past it)
    pages: int
    counts: dict[str, dict[str, int]]  # facet -> value -> items the view would show with it


Predicate = Callable[[Entry], bool]


def _status_matches(status: str) -> Predicate:
    if status == "answered":
        return lambda entry: not entry.item.waiting
    if status in ("open", "claimed"):
        return lambda entry: entry.item.status == status
    return lambda entry: entry.item.waiting


def _search_matches(words: str) -> Predicate:
    """Every word of the search in the item's text, author or id (any case)."""
    wanted = words.casefold().split()

    def matches(entry: Entry) -> bool:
        item = entry.item
        haystack = f"{item.text}\n{item.author}\n{item.mention_id}".casefold()
        return all(word in haystack for word in wanted)

    return matches


def _predicates(query: InboxQuery, me: str) -> dict[str, Predicate]:
    """The query's tests by facet: an item is in the view when it passes every one."""
    tests: dict[str, Predicate] = {"status": _status_matches(query.status)}
    if query.priority:
        tests["priority"] = lambda entry: entry.item.priority == query.priority
    if query.channel:
        tests["channel"] = lambda entry: entry.item.channel == query.channel
    if query.mine:
        tests["mine"] = lambda entry: entry.item.claimed_by == me
    if query.unclaimed:
        tests["unclaimed"] = lambda entry: entry.item.status == "open"
    if query.overdue:
        tests["overdue"] = lambda entry: entry.item.sla_state == "overdue"
    if query.possible_p0:
        tests["possible_p0"] = lambda entry: entry.possible_p0
    if query.escalated:
        tests["escalated"] = lambda entry: entry.escalated
    if query.q:
        tests["q"] = _search_matches(query.q)
    return tests


def _choices(entries: Iterable[Entry]) -> dict[str, tuple[object, ...]]:
    seen = {entry.item.channel for entry in entries}
    return {
        "priority": (None, *LEVELS),
        "channel": (None, *(channel for channel in CHANNELS if channel in seen)),
        "status": STATUSES,
        **{name: (True,) for name in TOGGLES},
    }


def facet_counts(entries: list[Entry], query: InboxQuery, me: str) -> dict[str, dict[str, int]]:
    """For each filter value, how many items the view would show with that value chosen and
    the other filters as they are: what a person sees beside each filter ("any": the
    filter unset; a toggle's count is under "true")."""
    counts: dict[str, dict[str, int]] = {}
    for facet, values in _choices(entries).items():
        counts[facet] = {}
        for value in values:
            tests = _predicates(query.model_copy(update={facet: value}), me)
            name = "any" if value is None else "true" if value is True else str(value)
            counts[facet][name] = sum(
                1 for entry in entries if all(test(entry) for test in tests.values())
            )
    return counts


def group_rows(entries: Iterable[Entry]) -> list[InboxRow]:
    """The list's rows in the entries' order: an incident's reports fold into one row, where
    its first report is; an item of no incident, or the only one of its incident in view,
    is a row of its own."""
    by_incident: dict[str, list[Entry]] = {}
    order: list[str | Entry] = []
    for entry in entries:
        incident = entry.incident_id
        if incident is None:
            order.append(entry)
            continue
        if incident not in by_incident:
            by_incident[incident] = []
            order.append(incident)
        by_incident[incident].append(entry)
    rows: list[InboxRow] = []
    for place in order:
        if isinstance(place, Entry):
            rows.append(InboxRow(key=place.item.mention_id, entries=(place,)))
            continue
        group = by_incident[place]
        key = GROUP + place if len(group) > 1 else group[0].item.mention_id
        rows.append(InboxRow(key=key, entries=tuple(group), incident_id=place))
    return rows


def _with_report_counts(
    rows: list[InboxRow], entries: list[Entry], query: InboxQuery
) -> list[InboxRow]:
    """Each incident row with how many reports its incident has in the view's status: a
    filter may show some of them, and one reply answers them all."""
    in_status = _status_matches(query.status)
    sizes: dict[str, int] = {}
    for entry in entries:
        if entry.incident_id and in_status(entry):
            sizes[entry.incident_id] = sizes.get(entry.incident_id, 0) + 1
    return [
        row.model_copy(update={"reports": sizes.get(row.incident_id, 0)})
        if row.incident_id
        else row
        for row in rows
    ]


def matching(entries: list[Entry], query: InboxQuery, me: str) -> list[Entry]:
    """The entries the view ``query`` shows, in their order (not folded, not paged)."""
    tests = _predicates(query, me).values()
    return [entry for entry in entries if all(test(entry) for test in tests)]


def _waiting_order(entry: Entry) -> tuple[bool, bool, bool]:
    return (not entry.possible_p0, entry.item.priority != "P0", not entry.escalated)


def inbox_page(
    entries: list[Entry], query: InboxQuery, me: str, page_size: int = PAGE_SIZE
) -> InboxPage:
    """The view ``query`` asks of ``entries`` (waiting items soonest due first, then answered
    ones latest first), as ``me`` sees it: its page of rows and every filter's count.
    Waiting possible P0s come first, then P0s, then escalated items; answered items are
    never folded into an incident row (each says what was sent)."""
    shown = matching(entries, query, me)
    if query.status == "answered":
        rows = [InboxRow(key=entry.item.mention_id, entries=(entry,)) for entry in shown]
    else:  # possible P0s first (each waits for a person to confirm or downgrade it), then
        # the P0s (a P0 outranks a P3 left an hour), then the escalated ones; the sort is
        # stable, so each group stays soonest due first
        rows = group_rows(sorted(shown, key=_waiting_order))
        rows = _with_report_counts(rows, entries, query)
    pages = max(1, -(-len(rows) // page_size))
    page = min(query.page, pages)
    start = (page - 1) * page_size
    return InboxPage(
        query=query,
        rows=tuple(rows[start : start + page_size]),
        matched_items=len(shown),
        matched_rows=len(rows),
        page=page,
        pages=pages,
        counts=facet_counts(entries, query, me),
    )
