"""Silences the messages show, and alerts as Alertmanager lists them.

A silence made from Slack is stored with the message it was made from, and the
firing alerts it matches are marked silenced at once. Reconciling
(router/deliveries/reconcile.py) then keeps both as Alertmanager says: every
silence that mutes a message's alerts (made in Slack, with amtool or in the
UI) with its author, comment and end; which alerts are inhibited, and by
what; and the alerts it no longer lists, which are resolved here, since
Alertmanager sends no resolve for an alert that was muted when it ended.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from router.records import SilenceEvent, SilenceNotice
from router.store.acks import queue_action
from router.store.database import Database
from router.store.events import NO_LONGER_ACTIVE, SILENCE_ENDING, SILENCE_EXPIRED, SILENCED
from router.store.outbox import entries
from router.store.plan import Plan
from router.store.schema import (
    OPEN,
    RECONCILE,
    alerts,
    chunks,
    deliveries,
    members,
    message_events,
    messages,
)
from router.store.schema import silences as table

SUBMISSIONS = "silence-modal"
"""``deliveries.source`` of the modals submitted: one silence per modal."""


@dataclass(frozen=True)
class SilenceFacts:
    """A silence as Alertmanager describes it."""

    silence_id: str
    matchers: list[str]
    created_by: str
    comment: str
    starts_at: float | None
    ends_at: float
    state: str = "active"


@dataclass(frozen=True)
class SilenceView:
    """A silence as a message shows it."""

    id: int
    alertmanager: str
    silence_id: str
    message_id: int | None
    matchers: list[str]
    created_by: str
    slack_user: str | None
    comment: str
    starts_at: float | None
    ends_at: float
    state: str

    def active(self, now: float) -> bool:
        return self.state != "expired" and self.ends_at > now


@dataclass(frozen=True)
class NewSilence:
    """A silence Alertmanager just made from a message's modal."""

    message_id: int
    alertmanager: str
    facts: SilenceFacts
    slack_user: str
    alert_ids: Sequence[int]
    """The message's firing alerts it matches: shown silenced at once."""
    replaces: int | None = None
    """The silence extended (``silences.id``)."""


@dataclass(frozen=True)
class Candidate:
    """A firing alert of an open message, as the reconciler compares it with Alertmanager."""

    message_id: int
    alert_id: int
    source: str
    fingerprint: str
    labels: dict[str, str]
    links: dict[str, str]
    updated_at: float
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()
    mirrored_at: float | None = None


@dataclass(frozen=True)
class Mirror:
    """What one read of one Alertmanager found, to store."""

    alertmanager: str
    read_at: float
    """When the read began: an alert stored since is left alone."""
    seen: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    """Alert id -> (the silences muting it, the alerts inhibiting it), for those listed."""
    resolved: dict[int, float] = field(default_factory=dict)
    """Alert id -> when it ended, for those Alertmanager no longer lists."""
    silences: dict[str, SilenceFacts] | None = None
    """Every silence Alertmanager has, by ID (None: they were not read)."""
    remind_before: float = 0.0


@dataclass(frozen=True)
class MirrorOutcome:
    resolved: int = 0
    """Alerts resolved."""
    changed: int = 0
    """Messages to edit."""
    reminders: int = 0


def _view(row: Any) -> SilenceView:
    return SilenceView(
        row.id,
        row.alertmanager,
        row.silence_id,
        row.message_id,
        list(row.matchers or []),
        row.created_by,
        row.slack_user,
        row.comment,
        row.starts_at,
        row.ends_at,
        row.state,
    )


def silence_views(
    conn: Connection, message_id: int, silence_ids: Iterable[str]
) -> list[SilenceView]:
    """The silences a message shows: made from it, or muting its alerts; not expired."""
    ids = sorted(set(silence_ids))
    about = table.c.message_id == message_id
    if ids:
        about = sa.or_(about, table.c.silence_id.in_(ids))
    rows = conn.execute(
        sa.select(table).where(about, table.c.state != "expired").order_by(table.c.ends_at)
    ).all()
    return [_view(r) for r in rows]


def event_detail(silence_id: str, ends_at: float, by: str = "") -> str:
    """A silence event's detail (router/render/incident/timeline.py reads it back)."""
    return json.dumps({"silence": silence_id, "until": ends_at, "by": by})


def _ids(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


class Silences(Database):
    # -- from Slack ----------------------------------------------------------------

    def claim_submission(self, nonce: str) -> bool:
        """The modal's one submission: False if it was submitted before (a replay)."""
        try:
            with self._tx() as conn:
                conn.execute(
                    deliveries.insert().values(
                        source=SUBMISSIONS, delivery_id=nonce[:200], received_at=self.clock.now()
                    )
                )
        except IntegrityError:
            return False
        return True

    def release_submission(self, nonce: str) -> None:
        """Nothing was silenced: the same modal may be submitted again."""
        with self._tx() as conn:
            conn.execute(
                deliveries.delete().where(
                    deliveries.c.source == SUBMISSIONS, deliveries.c.delivery_id == nonce[:200]
                )
            )

    def silence(self, row_id: int) -> SilenceView | None:
        with self._read() as conn:
            row = conn.execute(sa.select(table).where(table.c.id == row_id)).first()
        return _view(row) if row is not None else None

    def record_silence(self, new: NewSilence) -> int:
        """Store it, show its alerts silenced, and edit and thread the message; its id."""
        with self._tx() as conn:
            now = self.clock.now()
            facts = new.facts
            row_id = _upsert(conn, new.alertmanager, facts, now, new.message_id, new.slack_user)
            if new.replaces is not None and new.replaces != row_id:
                old = conn.execute(sa.select(table).where(table.c.id == new.replaces)).first()
                _expire(conn, new.replaces, now)
                if old is not None:
                    _unmark(conn, [old.silence_id])
            _mark(conn, new.alert_ids, facts.silence_id)
            what: SilenceEvent = "extended" if new.replaces is not None else "created"
            detail = event_detail(facts.silence_id, facts.ends_at)
            _event(conn, new.message_id, SILENCED, now, f"slack:{new.slack_user}", detail)
            entries.move_messages(conn, now, [new.message_id])
            notice = SilenceNotice(
                user_id=new.slack_user, message_id=new.message_id, silence=row_id, what=what
            )
            queue_action(conn, now, notice)
        return row_id

    def record_expired(self, row_id: int, message_id: int, user_id: str) -> bool:
        """Expired from Slack: the messages show it no more; False if it already was."""
        with self._tx() as conn:
            now = self.clock.now()
            row = conn.execute(sa.select(table).where(table.c.id == row_id)).first()
            if row is None or row.state == "expired":
                return False
            _expire(conn, row_id, now)
            changed = _unmark(conn, [row.silence_id]) | {message_id}
            if row.message_id is not None:
                changed.add(row.message_id)
            detail = event_detail(row.silence_id, now)
            _event(conn, message_id, SILENCE_EXPIRED, now, f"slack:{user_id}", detail)
            entries.move_messages(conn, now, changed)
            notice = SilenceNotice(
                user_id=user_id, message_id=message_id, silence=row_id, what="expired"
            )
            queue_action(conn, now, notice)
        return True

    # -- reconciling ---------------------------------------------------------------

    def arm_reconciler(self) -> None:
        """The reconciler's timer is pending: due now if it was not (at start, on reload)."""
        self.ensure_schema()
        with self._tx() as conn:
            now = self.clock.now()
            entries.pending(conn, now, RECONCILE, 0)

    def mirror_candidates(self, sources: Iterable[str]) -> list[Candidate]:
        """Every firing alert of an open group message of these sources."""
        query = (
            sa.select(
                members.c.message_id,
                alerts.c.id,
                alerts.c.source,
                alerts.c.fingerprint,
                alerts.c.labels,
                alerts.c.links,
                alerts.c.updated_at,
                alerts.c.silenced_by,
                alerts.c.inhibited_by,
                alerts.c.mirrored_at,
            )
            .join(alerts, alerts.c.id == members.c.alert_id)
            .join(messages, messages.c.id == members.c.message_id)
            .where(
                OPEN,
                messages.c.kind == "group",
                messages.c.source.in_(sorted(set(sources))),
                members.c.status == "firing",
                alerts.c.status == "firing",
            )
            .order_by(members.c.message_id, alerts.c.id)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            Candidate(
                r.message_id,
                r.id,
                r.source,
                r.fingerprint,
                r.labels or {},
                r.links or {},
                r.updated_at,
                _ids(r.silenced_by),
                _ids(r.inhibited_by),
                r.mirrored_at,
            )
            for r in rows
        ]

    def apply_mirror(self, mirror: Mirror) -> MirrorOutcome:
        """Store one read of an Alertmanager: its silences, which alerts it mutes or
        inhibits, and the alerts it no longer lists, resolved; messages that change are
        edited, and a message whose silence ends soon gets its reminder (once)."""
        with self._tx() as conn:
            now = self.clock.now()
            changed: set[int] = set()
            if mirror.silences is not None:
                changed |= _sync_silences(conn, mirror, mirror.silences, now)
            changed |= _sync_alerts(conn, mirror)
            resolved = _resolve(conn, mirror, now)
            plan = Plan(conn, now)
            plan.resolve_members(resolved)
            plan.write_members()
            for message_id, count in _counts(plan.touched).items():
                _event(conn, message_id, NO_LONGER_ACTIVE, now, None, str(count))
            changed |= plan.changed
            entries.move_messages(conn, now, changed)
            reminders = _remind(conn, mirror, now) if mirror.remind_before > 0 else 0
        return MirrorOutcome(len(resolved), len(changed), reminders)


# -- the pieces, in the caller's transaction ------------------------------------------


def _event(
    conn: Connection, message_id: int, kind: str, at: float, who: str | None, detail: str
) -> None:
    conn.execute(
        message_events.insert().values(
            message_id=message_id, kind=kind, at=at, who=who, detail=detail
        )
    )


def _upsert(
    conn: Connection,
    alertmanager: str,
    facts: SilenceFacts,
    now: float,
    message_id: int | None = None,
    slack_user: str | None = None,
) -> int:
    values: dict[str, Any] = {
        "matchers": facts.matchers,
        "created_by": facts.created_by[:500],
        "comment": facts.comment[:2000],
        "starts_at": facts.starts_at,
        "ends_at": facts.ends_at,
        "state": facts.state,
        "updated_at": now,
    }
    if message_id is not None:
        values |= {"message_id": message_id, "slack_user": slack_user}
    found = conn.execute(
        sa.select(table.c.id).where(
            table.c.alertmanager == alertmanager, table.c.silence_id == facts.silence_id
        )
    ).scalar()
    if found is not None:
        conn.execute(table.update().where(table.c.id == found).values(**values))
        return int(found)
    insert = table.insert().values(
        alertmanager=alertmanager, silence_id=facts.silence_id, created_at=now, **values
    )
    return int(conn.execute(insert.returning(table.c.id)).scalar_one())


def _expire(conn: Connection, row_id: int, now: float) -> None:
    """Ended: now, unless it had ended before."""
    ends_at = sa.case((table.c.ends_at > now, now), else_=table.c.ends_at)
    conn.execute(
        table.update()
        .where(table.c.id == row_id)
        .values(state="expired", ends_at=ends_at, updated_at=now)
    )


def _firing_alerts_of(conn: Connection, ids: Sequence[int]) -> dict[int, Any]:
    rows: dict[int, Any] = {}
    for chunk in chunks(list(ids)):
        query = sa.select(
            alerts.c.id,
            alerts.c.status,
            alerts.c.updated_at,
            alerts.c.silenced_by,
            alerts.c.inhibited_by,
        ).where(alerts.c.id.in_(chunk))
        rows.update((r.id, r) for r in conn.execute(query.with_for_update()))
    return rows


def _messages_of(conn: Connection, alert_ids: Iterable[int]) -> set[int]:
    """The open messages listing these alerts as firing."""
    ids = sorted(set(alert_ids))
    found: set[int] = set()
    for chunk in chunks(ids):
        found.update(
            conn.execute(
                sa.select(members.c.message_id)
                .join(messages, messages.c.id == members.c.message_id)
                .where(
                    members.c.alert_id.in_(chunk),
                    members.c.status == "firing",
                    OPEN,
                )
            ).scalars()
        )
    return found


def _mark(conn: Connection, alert_ids: Sequence[int], silence_id: str) -> None:
    """These alerts are muted by this silence too."""
    rows = _firing_alerts_of(conn, alert_ids)
    updates = [
        {"b_id": i, "silenced_by": [*_ids(r.silenced_by), silence_id]}
        for i, r in rows.items()
        if silence_id not in _ids(r.silenced_by)
    ]
    if updates:
        conn.execute(alerts.update().where(alerts.c.id == sa.bindparam("b_id")), updates)


def _unmark(conn: Connection, silence_ids: Sequence[str]) -> set[int]:
    """No alert is muted by these silences any more; the messages that showed one."""
    gone = set(silence_ids)
    rows = conn.execute(
        sa.select(alerts.c.id, alerts.c.silenced_by).where(
            alerts.c.status == "firing", alerts.c.silenced_by.is_not(None)
        )
    ).all()
    updates = []
    for row in rows:
        kept = [s for s in _ids(row.silenced_by) if s not in gone]
        if len(kept) != len(_ids(row.silenced_by)):
            updates.append({"b_id": row.id, "silenced_by": kept or None})
    if updates:
        conn.execute(alerts.update().where(alerts.c.id == sa.bindparam("b_id")), updates)
    return _messages_of(conn, [u["b_id"] for u in updates])


def _sync_silences(
    conn: Connection, mirror: Mirror, reported: dict[str, SilenceFacts], now: float
) -> set[int]:
    """The stored silences of this Alertmanager as it has them now (``reported``: all of
    them); the messages whose silences changed (ended, extended, reworded)."""
    known = {
        r.silence_id: r
        for r in conn.execute(
            sa.select(table).where(
                table.c.alertmanager == mirror.alertmanager, table.c.state != "expired"
            )
        )
    }
    changed: set[int] = set()
    ended: list[str] = []
    for silence_id, row in known.items():
        facts = reported.get(silence_id)
        if facts is None or facts.state == "expired" or facts.ends_at <= now:
            _expire(conn, row.id, now)
            ended.append(silence_id)
        elif (facts.starts_at, facts.ends_at, facts.comment, facts.created_by, facts.state) != (
            row.starts_at,
            row.ends_at,
            row.comment,
            row.created_by,
            row.state,
        ):
            _upsert(conn, mirror.alertmanager, facts, now)
        else:
            continue
        if row.message_id is not None:
            changed.add(row.message_id)
    muting = {s for silenced, _ in mirror.seen.values() for s in silenced}
    for silence_id in sorted(muting - set(known)):
        if (facts := reported.get(silence_id)) is not None:
            _upsert(conn, mirror.alertmanager, facts, now)
    if ended:
        changed |= _unmark(conn, ended)
    return changed


def _sync_alerts(conn: Connection, mirror: Mirror) -> set[int]:
    """Each listed alert's silences and inhibitors; the messages whose alerts changed."""
    rows = _firing_alerts_of(conn, list(mirror.seen))
    updates = []
    moved: list[int] = []
    for alert_id, (silenced, inhibited) in mirror.seen.items():
        row = rows.get(alert_id)
        if row is None or row.status != "firing" or row.updated_at >= mirror.read_at:
            continue  # resolved or sent again since the read: the webhook knows better
        values = {"b_id": alert_id, "mirrored_at": mirror.read_at}
        if (_ids(row.silenced_by), _ids(row.inhibited_by)) != (silenced, inhibited):
            moved.append(alert_id)
        muted = {"silenced_by": list(silenced) or None, "inhibited_by": list(inhibited) or None}
        updates.append(values | muted)
    if updates:
        conn.execute(alerts.update().where(alerts.c.id == sa.bindparam("b_id")), updates)
    return _messages_of(conn, moved)


def _resolve(conn: Connection, mirror: Mirror, now: float) -> dict[int, float | None]:
    """The alerts no longer listed that are still firing as stored before the read."""
    rows = _firing_alerts_of(conn, list(mirror.resolved))
    ended = {
        alert_id: min(at, now)
        for alert_id, at in mirror.resolved.items()
        if (row := rows.get(alert_id)) is not None
        and row.status == "firing"
        and row.updated_at < mirror.read_at
    }
    if ended:
        conn.execute(
            alerts.update().where(alerts.c.id == sa.bindparam("b_id")),
            [
                {
                    "b_id": alert_id,
                    "status": "resolved",
                    "ends_at": at,
                    "resolved_seen_at": now,
                    "updated_at": now,
                    "silenced_by": None,
                    "inhibited_by": None,
                }
                for alert_id, at in ended.items()
            ],
        )
    return dict(ended)


def _counts(touched: dict[int, set[int]]) -> dict[int, int]:
    """Message id -> how many of its alerts were resolved."""
    counts: dict[int, int] = {}
    for message_ids in touched.values():
        for message_id in message_ids:
            counts[message_id] = counts.get(message_id, 0) + 1
    return counts


def _remind(conn: Connection, mirror: Mirror, now: float) -> int:
    """A reply, once per silence end and message, when a silence muting a message's
    firing alerts ends within ``remind_before``."""
    ending = {
        r.silence_id: r
        for r in conn.execute(
            sa.select(table).where(
                table.c.alertmanager == mirror.alertmanager,
                table.c.state != "expired",
                table.c.ends_at > now,
                table.c.ends_at <= now + mirror.remind_before,
            )
        )
    }
    if not ending:
        return 0
    wanted: dict[tuple[int, str], int] = {}  # (message, silence ID) -> silences.id
    for alert_id, (silenced, _) in mirror.seen.items():
        for silence_id in silenced:
            if silence_id in ending:
                for message_id in _messages_of(conn, [alert_id]):
                    wanted[(message_id, silence_id)] = ending[silence_id].id
    sent = 0
    for (message_id, silence_id), row_id in sorted(wanted.items()):
        detail = event_detail(silence_id, ending[silence_id].ends_at)
        done = conn.execute(
            sa.select(message_events.c.id).where(
                message_events.c.message_id == message_id,
                message_events.c.kind == SILENCE_ENDING,
                message_events.c.detail == detail,
            )
        ).first()
        if done is not None:
            continue
        _event(conn, message_id, SILENCE_ENDING, now, None, detail)
        notice = SilenceNotice(user_id="", message_id=message_id, silence=row_id, what="ending")
        queue_action(conn, now, notice)
        sent += 1
    return sent
