"""Slack messages as the renderer and the buttons see them, and what Slack told us back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from router.alert import Alert
from router.decide import Decision
from router.records import NO_RUNBOOK, RunbookRef, StoredDecision
from router.store.database import Database
from router.store.heartbeats import GROUP_PREFIX as HEARTBEAT_GROUP
from router.store.outbox import entries
from router.store.plan import message_key, message_row
from router.store.runbook_posts import FEEDBACK_POST, PostedStep, open_post
from router.store.schema import OPEN, RUNBOOK_POST, alerts, members, messages, runbook_posts, ts
from router.store.silences import SilenceView, silence_views

LISTED_MEMBERS = 100
"""A message lists at most this many of its alerts (firing ones first when it has more);
what needs all of them is counted in the database (``Tally``), so an entry for a
message of 50,000 alerts costs about what one for a message of 100 does."""
TALLIED_NAMES = 20
"""Alert names a big message's tally keeps, most frequent first (all are counted)."""
TALLIED_RUNBOOKS = 10

_MEMBERS = sa.select(
    members.c.alert_id,
    members.c.status,
    members.c.level,
    members.c.reason,
    members.c.starts_at,
    members.c.ends_at,
    members.c.ack_by,
    members.c.ack_at,
    alerts.c.fingerprint,
    alerts.c.name,
    alerts.c.labels,
    alerts.c.annotations,
    alerts.c.summary,
    alerts.c.url,
    alerts.c.links,
    alerts.c.value,
    alerts.c.pagerduty_incident,
    alerts.c.decisions,
    alerts.c.silenced_by,
    alerts.c.inhibited_by,
).join(alerts, alerts.c.id == members.c.alert_id)


@dataclass(frozen=True)
class Member:
    fingerprint: str
    name: str
    status: str
    level: str
    reason: str
    labels: dict[str, str]
    annotations: dict[str, str]
    summary: str
    url: str | None
    starts_at: float | None
    ends_at: float | None
    links: dict[str, str] = field(default_factory=dict)
    value: str = ""
    ack_by: str | None = None
    """None: not acknowledged; "": acknowledged by someone unknown."""
    ack_at: float | None = None
    pagerduty_incident: str | None = None
    runbook: RunbookRef = NO_RUNBOOK
    """The alert's own runbook (its first routing decision): storms count by it."""
    alert_id: int = field(default=0, compare=False)
    """``alerts.id`` (0 in a preview, where nothing is stored)."""
    silenced_by: tuple[str, ...] = ()
    """The Alertmanager silences muting it (their IDs), as last known."""
    inhibited_by: tuple[str, ...] = ()
    """The alerts inhibiting it in Alertmanager (their names), as last known."""


@dataclass(frozen=True)
class FeedbackQuestion:
    """What "Did RUN-001 help?" asks about: the runbook and its steps as they are now."""

    runbook_id: str
    steps: tuple[PostedStep, ...]


@dataclass(frozen=True)
class NameCount:
    name: str
    alerts: int
    firing: int


@dataclass(frozen=True)
class RunbookCount:
    """The alerts of a message whose own runbook is this one ("" when they have none)."""

    runbook_id: str
    url: str
    title: str
    alerts: int


@dataclass(frozen=True)
class Tally:
    """What needs every alert of a message, counted: the message may list only some.

    Built from the members when they are all listed (``of``); from the database
    when the message has more than it lists (``MessageStore.load_message``).
    """

    members: int = 0
    firing: int = 0
    unacked: int = 0
    """Firing alerts that nobody acknowledged."""
    started: float | None = None
    """The earliest start of any alert (by the source's clock)."""
    ended: float | None = None
    """The latest end of any alert."""
    firing_started: float | None = None
    last_ack: float | None = None
    """The latest acknowledgement of a firing alert."""
    first_ack: float | None = None
    """The earliest acknowledgement of any alert, and who made it (``first_ack_by``)."""
    first_ack_by: str | None = None
    ackers: tuple[str, ...] = ()
    """Who acknowledged firing alerts (known names only), in the order of the alerts."""
    names: tuple[NameCount, ...] = ()
    """Alert names, most frequent first (ties: first seen first); all, or TALLIED_NAMES."""
    distinct_names: int = 0
    runbooks: tuple[RunbookCount, ...] = ()
    """The alerts' own runbooks, most frequent first (storms show them)."""

    @classmethod
    def of(cls, members: Sequence[Member]) -> Tally:
        firing = [m for m in members if m.status == "firing"]
        acks = [(m.ack_at, m.ack_by) for m in members if m.ack_at is not None]
        first = min(acks, key=lambda a: a[0]) if acks else (None, None)
        names = Counter(m.name for m in members)
        still = Counter(m.name for m in firing)
        runbooks = Counter(
            (m.runbook.id or "", m.runbook.url or "", m.runbook.title or "") for m in members
        )
        return cls(
            members=len(members),
            firing=len(firing),
            unacked=sum(1 for m in firing if m.ack_by is None),
            started=min((m.starts_at for m in members if m.starts_at), default=None),
            ended=max((m.ends_at for m in members if m.ends_at), default=None),
            firing_started=min((m.starts_at for m in firing if m.starts_at), default=None),
            last_ack=max((m.ack_at for m in firing if m.ack_at), default=None),
            first_ack=first[0],
            first_ack_by=first[1],
            ackers=tuple(dict.fromkeys(m.ack_by for m in firing if m.ack_by)),
            names=tuple(NameCount(n, c, still[n]) for n, c in names.most_common()),
            distinct_names=len(names),
            runbooks=tuple(RunbookCount(*k, c) for k, c in runbooks.most_common()),
        )


_UNCOUNTED = Tally()


@dataclass(frozen=True)
class MessageView:
    """Everything the renderer needs about one Slack message."""

    id: int
    source: str
    group_key: str
    channel: str
    route: str | None
    runbook: RunbookRef
    level: str
    version: int
    closed: bool
    created_at: float
    resolved_at: float | None
    resolve_notified: bool
    slack_channel: str | None
    slack_ts: str | None
    members: list[Member] = field(default_factory=list)
    kind: str = "group"
    """group: alerts of one group, channel and runbook; storm: one source's storm;
    pointer: a channel's alerts that joined a storm, pointing at its message."""
    storm_within: float | None = None
    storm_ended_at: float | None = None
    parent: MessageView | None = None
    """A pointer's storm message (without its members)."""
    silences: list[SilenceView] = field(default_factory=list)
    """Alertmanager silences made from this message or muting its alerts, not expired."""
    tally: Tally = _UNCOUNTED
    """Every alert of the message counted; when not given, counted from ``members``."""

    def __post_init__(self) -> None:
        if self.tally is _UNCOUNTED:
            object.__setattr__(self, "tally", Tally.of(self.members))

    @property
    def firing(self) -> list[Member]:
        """The listed alerts that fire (``tally.firing`` counts them all)."""
        return [m for m in self.members if m.status == "firing"]

    @property
    def heartbeat(self) -> bool:
        """The alarm of a silent heartbeat (the router's own alert, not a source's)."""
        return self.group_key.startswith(HEARTBEAT_GROUP)


def _member(m: Any) -> Member:
    own = StoredDecision.model_validate(m.decisions[0]) if m.decisions else None
    return Member(
        fingerprint=m.fingerprint,
        name=m.name,
        status=m.status,
        level=m.level,
        reason=m.reason,
        labels=m.labels,
        annotations=m.annotations,
        summary=m.summary,
        url=m.url,
        links=m.links or {},
        value=m.value or "",
        starts_at=m.starts_at,
        ends_at=m.ends_at,
        ack_by=m.ack_by,
        ack_at=m.ack_at,
        pagerduty_incident=m.pagerduty_incident,
        runbook=_own(own),
        alert_id=m.alert_id,
        silenced_by=tuple(m.silenced_by or ()),
        inhibited_by=tuple(m.inhibited_by or ()),
    )


def _runbook(row: Mapping[str, Any]) -> RunbookRef:
    """A message's runbook, from its columns (or the row ``message_row`` makes)."""
    return RunbookRef(
        row["runbook_id"], row["runbook_url"], row["runbook_title"], row["runbook_reason"]
    )


def _own(decision: StoredDecision | None) -> RunbookRef:
    """A member's own runbook: its alert's first decision's, without the why."""
    if decision is None:
        return NO_RUNBOOK
    return RunbookRef(decision.runbook, decision.runbook_url, decision.runbook_title)


def views_of(batch: Sequence[tuple[Alert, list[Decision]]], now: float) -> list[MessageView]:
    """The messages decided alerts would get from an empty store, built in memory.

    For ``preview``: grouped as ``Plan`` groups them (``message_key``: source, group,
    channel, runbook), each alert in the message of every decision that notifies,
    the last copy of an alert winning; the level that of the most severe alert
    still firing, as ``entries.move_messages`` sets it. A resolved alert is shown
    resolved in its message, as the edit after its resolve would show it. Storms
    are not folded: whether one is on depends on the alerts that came before.
    """
    latest = {(a.source, a.fingerprint): (a, ds) for a, ds in batch}
    rows: dict[str, dict[str, Any]] = {}
    grouped: dict[str, dict[tuple[str, str], Member]] = {}
    for key_of_alert, (alert, decisions) in latest.items():
        own = decisions[0].record() if decisions else None
        for decision in decisions:
            if not decision.notify:
                continue
            key = message_key(alert, decision)
            rows.setdefault(key, message_row(alert, decision))
            grouped.setdefault(key, {})[key_of_alert] = _alert_member(alert, decision, own, now)
    views = []
    for number, (key, row) in enumerate(rows.items(), 1):
        listed = list(grouped[key].values())
        firing = [m.level for m in listed if m.status == "firing"]
        views.append(
            MessageView(
                id=number,
                source=row["source"],
                group_key=row["group_key"],
                channel=row["channel"],
                route=row["route"],
                runbook=_runbook(row),
                level=min(firing or [m.level for m in listed]),
                version=1,
                closed=not firing,
                created_at=now,
                resolved_at=None if firing else now,
                resolve_notified=False,
                slack_channel=None,
                slack_ts=None,
                members=listed,
            )
        )
    return views


def _alert_member(
    alert: Alert, decision: Decision, own: StoredDecision | None, now: float
) -> Member:
    """A decided alert as a message member, as ``Plan.join`` first writes it."""
    ack_by = None
    if alert.acknowledged:
        ack_by = alert.acknowledged_by if alert.acknowledged_by is not None else ""
    resolved = alert.status == "resolved"
    return Member(
        fingerprint=alert.fingerprint,
        name=alert.name,
        status="resolved" if resolved else "firing",
        level=decision.severity.level,
        reason=decision.severity.reason,
        labels=alert.labels,
        annotations=alert.annotations,
        summary=alert.summary,
        url=alert.url,
        links=alert.links,
        value=alert.value or "",
        starts_at=ts(alert.starts_at),
        ends_at=(ts(alert.ends_at) or now) if resolved else None,
        ack_by=ack_by,
        pagerduty_incident=alert.pagerduty_incident,
        runbook=_own(own),
    )


_FIRING = members.c.status == "firing"
_OF_MESSAGE = members.c.message_id == sa.bindparam("message")
_COUNTS = sa.select(
    sa.func.count().label("members"),
    sa.func.coalesce(sa.func.sum(sa.case((_FIRING, 1), else_=0)), 0).label("firing"),
    sa.func.coalesce(
        sa.func.sum(sa.case((sa.and_(_FIRING, members.c.ack_by.is_(None)), 1), else_=0)), 0
    ).label("unacked"),
    sa.func.min(sa.case((members.c.starts_at != 0, members.c.starts_at))).label("started"),
    sa.func.max(sa.case((members.c.ends_at != 0, members.c.ends_at))).label("ended"),
    sa.func.min(sa.case((sa.and_(_FIRING, members.c.starts_at != 0), members.c.starts_at))).label(
        "firing_started"
    ),
    sa.func.max(sa.case((_FIRING, members.c.ack_at))).label("last_ack"),
).where(_OF_MESSAGE)
_FIRST_ACK = (
    sa.select(members.c.ack_at, members.c.ack_by)
    .where(_OF_MESSAGE, members.c.ack_at.is_not(None))
    .order_by(members.c.ack_at, members.c.added_at, members.c.alert_id)
    .limit(1)
)
_ACKERS = (
    sa.select(members.c.ack_by)
    .where(_OF_MESSAGE, _FIRING, members.c.ack_by.is_not(None), members.c.ack_by != "")
    .group_by(members.c.ack_by)
    .order_by(sa.func.min(members.c.added_at), sa.func.min(members.c.alert_id))
    .limit(10)
)
_WITH_ALERTS = members.join(alerts, alerts.c.id == members.c.alert_id)
_NAMES = (
    sa.select(alerts.c.name, sa.func.count(), sa.func.sum(sa.case((_FIRING, 1), else_=0)))
    .select_from(_WITH_ALERTS)
    .where(_OF_MESSAGE)
    .group_by(alerts.c.name)
    .order_by(
        sa.func.count().desc(), sa.func.min(members.c.added_at), sa.func.min(members.c.alert_id)
    )
    .limit(TALLIED_NAMES)
)
_DISTINCT_NAMES = (
    sa.select(sa.func.count(sa.distinct(alerts.c.name)))
    .select_from(_WITH_ALERTS)
    .where(_OF_MESSAGE)
)
_OWN = [
    sa.func.coalesce(alerts.c.decisions[(0, key)].as_string(), "")
    for key in ("runbook", "runbook_url", "runbook_title")
]
_RUNBOOKS = (
    sa.select(*_OWN, sa.func.count())
    .select_from(_WITH_ALERTS)
    .where(_OF_MESSAGE)
    .group_by(*_OWN)
    .order_by(
        sa.func.count().desc(), sa.func.min(members.c.added_at), sa.func.min(members.c.alert_id)
    )
    .limit(TALLIED_RUNBOOKS)
)
"""A member's own runbook is its alert's first decision's (``_member``)."""


def _tally(conn: Connection, message_id: int, counts: Any, storm: bool) -> Tally:
    """A big message's tally, from the database: a few aggregate queries."""
    at = {"message": message_id}
    first = conn.execute(_FIRST_ACK, at).first()
    names = [NameCount(n, int(c), int(f)) for n, c, f in conn.execute(_NAMES, at)]
    runbooks = (
        [RunbookCount(r[0], r[1], r[2], int(r[3])) for r in conn.execute(_RUNBOOKS, at)]
        if storm
        else []
    )
    return Tally(
        members=int(counts.members),
        firing=int(counts.firing),
        unacked=int(counts.unacked),
        started=counts.started,
        ended=counts.ended,
        firing_started=counts.firing_started,
        last_ack=counts.last_ack,
        first_ack=first.ack_at if first else None,
        first_ack_by=first.ack_by if first else None,
        ackers=tuple(conn.execute(_ACKERS, at).scalars()),
        names=tuple(names),
        distinct_names=int(conn.execute(_DISTINCT_NAMES, at).scalar_one()),
        runbooks=tuple(runbooks),
    )


class MessageStore(Database):
    def load_message(self, message_id: int, *, with_members: bool = True) -> MessageView | None:
        """The message, listing up to LISTED_MEMBERS of its alerts, with all of them counted."""
        tally = None
        with self._read() as conn:
            row = conn.execute(sa.select(messages).where(messages.c.id == message_id)).first()
            if row is None:
                return None
            if not with_members:
                return self._view(row, [], None)
            counts = conn.execute(_COUNTS, {"message": message_id}).one()
            listed = _MEMBERS.where(members.c.message_id == message_id)
            if counts.members <= LISTED_MEMBERS:
                listed = listed.order_by(members.c.added_at, alerts.c.id)
            else:  # the firing ones first: they are what the message is about
                tally = _tally(conn, message_id, counts, row.kind == "storm")
                listed = listed.order_by(
                    sa.case((_FIRING, 0), else_=1), members.c.added_at, alerts.c.id
                ).limit(LISTED_MEMBERS)
            member_rows = conn.execute(listed).all()
            muting = [s for m in member_rows for s in m.silenced_by or ()]
            shown = silence_views(conn, message_id, muting)
        # After the read above is over: one connection at a time (SQLite's lock).
        parent = None
        if row.parent_id is not None:
            parent = self.load_message(row.parent_id, with_members=False)
        return self._view(row, member_rows, parent, shown, tally)

    @staticmethod
    def _view(
        row: Any,
        member_rows: Sequence[Any],
        parent: MessageView | None,
        shown: list[SilenceView] | None = None,
        tally: Tally | None = None,
    ) -> MessageView:
        return MessageView(
            id=row.id,
            source=row.source,
            group_key=row.group_key,
            channel=row.channel,
            route=row.route,
            runbook=_runbook(row._mapping),
            level=row.level,
            version=row.version,
            closed=row.closed,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            resolve_notified=row.resolve_notified,
            slack_channel=row.slack_channel,
            slack_ts=row.slack_ts,
            kind=row.kind,
            storm_within=row.storm_within,
            storm_ended_at=row.storm_ended_at,
            parent=parent,
            members=[_member(m) for m in member_rows],
            silences=shown or [],
            tally=tally or _UNCOUNTED,
        )

    def latest_open_message(self, slack_channel: str) -> MessageView | None:
        """The newest message still firing in a Slack channel (by its ID)."""
        with self._read() as conn:
            message_id = conn.execute(
                sa.select(messages.c.id)
                .where(messages.c.slack_channel == slack_channel, OPEN)
                .order_by(messages.c.created_at.desc(), messages.c.id.desc())
                .limit(1)
            ).scalar()
        return self.load_message(int(message_id)) if message_id is not None else None

    def first_alert_id(self, message_id: int) -> int | None:
        """The message's first alert (its pages link to the message's drafts)."""
        with self._read() as conn:
            alert_id = conn.execute(
                sa.select(members.c.alert_id)
                .where(members.c.message_id == message_id)
                .order_by(members.c.added_at, members.c.alert_id)
                .limit(1)
            ).scalar()
        return int(alert_id) if alert_id is not None else None

    def find_message(self, slack_channel: str, slack_ts: str) -> MessageView | None:
        """The message Slack knows by channel ID and ts (from a signed interaction)."""
        with self._read() as conn:
            message_id = conn.execute(
                sa.select(messages.c.id).where(
                    messages.c.slack_channel == slack_channel, messages.c.slack_ts == slack_ts
                )
            ).scalar()
        return self.load_message(int(message_id)) if message_id is not None else None

    def record_posted(self, message_id: int, channel_id: str, ts: str) -> None:
        """Slack took the message; its response clock, which may have been waiting for a
        thread to reply in, looks again now."""
        with self._tx() as conn:
            conn.execute(
                messages.update()
                .where(messages.c.id == message_id)
                .values(slack_channel=channel_id, slack_ts=ts)
            )
            entries.wake_clock(conn, self.clock.now(), [message_id])

    def record_resolve_notified(self, message_id: int, ask: FeedbackQuestion | None = None) -> None:
        """The resolution was told in the thread; with ``ask``, "Did RUN-001 help?" is to
        follow it there (its outbox entry, in the same transaction)."""
        now = self.clock.now()
        with self._tx() as conn:
            conn.execute(
                messages.update().where(messages.c.id == message_id).values(resolve_notified=True)
            )
            if ask is not None and open_post(
                conn, now, message_id, FEEDBACK_POST, ask.runbook_id, ask.steps
            ):
                post_id = conn.execute(
                    sa.select(runbook_posts.c.id).where(
                        runbook_posts.c.message_id == message_id,
                        runbook_posts.c.kind == FEEDBACK_POST,
                    )
                ).scalar_one()
                entries.arm(conn, now, RUNBOOK_POST, {post_id: 1})
