"""Retention: history past its time is deleted, a bounded batch per transaction.

Two periods (router/settings.py), each 0 to keep everything:

- ``ROUTER_RETENTION`` (180d): a message closed longer ago than that, whose alerts are
  all resolved as long ago, goes with what hangs off it: its member rows, its timeline
  (message_events), its runbook posts, its ended silences and its outbox entries. Then
  each alert resolved as long ago that no message lists any more goes, with its
  PagerDuty entries; an ended silence no message names goes too.
- ``ROUTER_OUTBOX_RETENTION`` (7d): outbox entries done or dead that long. An entry is
  one row per (kind, ref) that ``entries.arm`` re-arms in place when it finds one and
  inserts when it does not, so a later change arms a fresh one. Kept: the timers re-armed
  in place for good (a heartbeat's, the reconciler's), a response clock while its message
  is open (it is armed only where none is, and a fresh one would start the clock again),
  a PagerDuty note while its alert fires (the note is posted once per incident). A button's
  work (actions) goes with its entry.

Nothing a live thing needs goes: an alert firing, held, or a heartbeat's open alarm; a
message open, with an alert not resolved long ago, with an entry pending, a storm not
ended or with a pointer left, a silence not ended long ago. Each step is one short write
transaction over at most ``batch`` rows of the table it walks, through an index, so
ingest waits a few ms for it at most. On PostgreSQL the rows walked are taken FOR UPDATE
SKIP LOCKED, and an outbox entry goes only with its referent locked too (every re-arm
writes the referent first): two replicas pruning at once take different rows, and a row
a write holds now is left for the next pass; an ingest that found an alert a pass then
deleted fails on it and its retry stores the alert anew. SQLite gives a new row the
largest id plus one, so the newest row of a table is never deleted: an id that old Slack
buttons, entries or a late ``complete`` still name never comes back meaning another row
(the outbox's newest entry is left, finished, for a later pass).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from router.store.database import Database
from router.store.kinds import MessageKind, OutboxKind, OutboxState
from router.store.schema import (
    OPEN,
    actions,
    alerts,
    heartbeats,
    held_alerts,
    holds,
    members,
    message_events,
    messages,
    outbox,
    runbook_posts,
    silences,
)

BATCH = 500
"""Rows of the table a step walks, at most, in one transaction."""

_FINISHED = (OutboxState.DONE, OutboxState.DEAD)
_MESSAGE_ENTRIES = (OutboxKind.SLACK_MESSAGE, OutboxKind.RESPONSE_CLOCK)
_ALERT_ENTRIES = (OutboxKind.PAGERDUTY_NOTE, OutboxKind.PAGERDUTY_EVENT)
_REFERENTS: dict[str, sa.Table] = {
    OutboxKind.SLACK_MESSAGE: messages,
    OutboxKind.RESPONSE_CLOCK: messages,
    OutboxKind.PAGERDUTY_NOTE: alerts,
    OutboxKind.PAGERDUTY_EVENT: alerts,
    OutboxKind.SLACK_ACTION: actions,
    OutboxKind.RUNBOOK_POST: runbook_posts,
    OutboxKind.HOLD: holds,
}
"""The kinds whose finished entries go, and the table each one's ``ref`` names. Not here:
the heartbeat and reconcile timers (one per route, one in all: re-armed in place for
good), and kinds this release does not know."""


@dataclass
class Pruned:
    """One pass: rows deleted by table, and whether a step filled its batch (more left)."""

    deleted: dict[str, int] = field(default_factory=dict)
    more: bool = False

    def add(self, table: str, rows: int) -> None:
        if rows:
            self.deleted[table] = self.deleted.get(table, 0) + rows


def _newest(table: sa.Table) -> sa.ScalarSelect[int]:
    """The table's largest id (its own query, whatever table the caller walks)."""
    return sa.select(sa.func.max(table.c.id)).correlate(None).scalar_subquery()


def _lock(query: sa.Select[int], table: sa.Table) -> sa.Select[int]:
    """PostgreSQL: these rows, locked, skipping those another transaction holds (SQLite
    has one writer: nothing to skip)."""
    return query.with_for_update(skip_locked=True, of=table)


def _pending(kinds: Sequence[str], ref: ColumnElement[int]) -> ColumnElement[bool]:
    return sa.exists().where(
        outbox.c.kind.in_(kinds), outbox.c.ref == ref, outbox.c.state == OutboxState.PENDING
    )


def finished_entries(before: float, batch: int) -> sa.Select[int, str, int]:
    """Outbox entries done or dead since before ``before`` that may go, oldest first.

    ``ix_outbox_due`` (state, due_at) serves it: an entry is done or dead after it came
    due, so ``due_at`` bounds the walk and ``updated_at`` (when it finished) decides.
    """
    open_message = sa.exists().where(messages.c.id == outbox.c.ref, OPEN)
    firing_alert = sa.exists().where(alerts.c.id == outbox.c.ref, alerts.c.status != "resolved")
    return (
        sa.select(outbox.c.id, outbox.c.kind, outbox.c.ref)
        .where(
            outbox.c.state.in_(_FINISHED),
            outbox.c.due_at < before,
            outbox.c.updated_at < before,
            outbox.c.kind.in_(sorted(_REFERENTS)),
            outbox.c.id < _newest(outbox),
            ~sa.and_(outbox.c.kind == OutboxKind.RESPONSE_CLOCK, open_message),
            ~sa.and_(outbox.c.kind == OutboxKind.PAGERDUTY_NOTE, firing_alert),
            ~sa.and_(outbox.c.kind == OutboxKind.SLACK_ACTION, outbox.c.ref >= _newest(actions)),
        )
        .order_by(outbox.c.state, outbox.c.due_at)
        .limit(batch)
        .with_for_update(skip_locked=True, of=outbox)
    )


def old_messages(before: float, batch: int) -> sa.Select[int]:
    """Closed messages whose time is up and that nothing live needs, closed longest ago
    first (``ix_messages_resolved``)."""
    pointer = messages.alias("pointer")
    live_member = sa.exists().where(
        members.c.message_id == messages.c.id,
        alerts.c.id == members.c.alert_id,
        sa.or_(alerts.c.status != "resolved", alerts.c.updated_at >= before),
    )
    busy_post = sa.exists().where(
        runbook_posts.c.message_id == messages.c.id,
        sa.or_(
            runbook_posts.c.id >= _newest(runbook_posts),
            _pending([OutboxKind.RUNBOOK_POST], runbook_posts.c.id),
        ),
    )
    kept_silence = sa.exists().where(
        silences.c.message_id == messages.c.id,
        sa.or_(
            silences.c.state != "expired",
            silences.c.ends_at >= before,
            silences.c.id >= _newest(silences),
        ),
    )
    newest_event = sa.exists().where(
        message_events.c.message_id == messages.c.id,
        message_events.c.id >= _newest(message_events),
    )
    query = (
        sa.select(messages.c.id)
        .where(
            messages.c.closed == sa.true(),
            messages.c.resolved_at < before,
            messages.c.id < _newest(messages),
            sa.or_(messages.c.kind != MessageKind.STORM, messages.c.storm_ended_at.is_not(None)),
            ~sa.exists().where(pointer.c.parent_id == messages.c.id),
            ~_pending(_MESSAGE_ENTRIES, messages.c.id),
            ~live_member,
            ~busy_post,
            ~kept_silence,
            ~newest_event,
        )
        .order_by(messages.c.resolved_at)
        .limit(batch)
    )
    return _lock(query, messages)


def old_alerts(before: float, batch: int) -> sa.Select[int]:
    """Alerts resolved before ``before`` that no message lists, no hold keeps, no
    heartbeat names and no entry waits on (``ix_alerts_status_updated``)."""
    query = (
        sa.select(alerts.c.id)
        .where(
            alerts.c.status == "resolved",
            alerts.c.updated_at < before,
            alerts.c.id < _newest(alerts),
            ~sa.exists().where(members.c.alert_id == alerts.c.id),
            ~sa.exists().where(held_alerts.c.alert_id == alerts.c.id),
            ~sa.exists().where(heartbeats.c.alarm_alert_id == alerts.c.id),
            ~_pending(_ALERT_ENTRIES, alerts.c.id),
        )
        .order_by(alerts.c.status, alerts.c.updated_at)
        .limit(batch)
    )
    return _lock(query, alerts)


def ended_silences(before: float, batch: int) -> sa.Select[int]:
    """Silences read when reconciling, no message's, that ended before ``before``."""
    query = (
        sa.select(silences.c.id)
        .where(
            silences.c.message_id.is_(None),
            silences.c.state == "expired",
            silences.c.ends_at < before,
            silences.c.id < _newest(silences),
        )
        .order_by(silences.c.ends_at)
        .limit(batch)
    )
    return _lock(query, silences)


def _count(conn: Connection, statement: sa.Delete) -> int:
    return int(conn.execute(statement).rowcount)


def prune_entries(conn: Connection, before: float, batch: int, pruned: Pruned) -> int:
    """One batch of finished outbox entries, with the button work of those that were one;
    returns the entries walked."""
    found = conn.execute(finished_entries(before, batch)).all()
    busy = _held_referents(conn, found) if conn.dialect.name == "postgresql" else {}
    ids = [row.id for row in found if row.ref not in busy.get(_REFERENTS[row.kind].name, ())]
    if not ids:
        return len(found)
    gone = conn.execute(
        outbox.delete()
        .where(outbox.c.id.in_(ids), outbox.c.state.in_(_FINISHED), outbox.c.updated_at < before)
        .returning(outbox.c.kind, outbox.c.ref)
    ).all()
    pruned.add("outbox", len(gone))
    done_actions = sorted(ref for kind, ref in gone if kind == OutboxKind.SLACK_ACTION)
    if done_actions:
        pruned.add("actions", _count(conn, actions.delete().where(actions.c.id.in_(done_actions))))
    return len(found)


_REFERENTS_BY_NAME = {table.name: table for table in _REFERENTS.values()}


def _held_referents(
    conn: Connection, found: Sequence[sa.Row[int, str, int]]
) -> dict[str, set[int]]:
    """PostgreSQL: the entries' referents another transaction holds, by table (it may be
    re-arming their entries right now); the others are locked for this one. SQLite has
    one writer, the pass itself: none is held there."""
    refs: dict[str, set[int]] = {}
    for row in found:
        refs.setdefault(_REFERENTS[row.kind].name, set()).add(row.ref)
    busy: dict[str, set[int]] = {}
    for name, named in refs.items():
        table = _REFERENTS_BY_NAME[name]
        there = sa.select(table.c.id).where(table.c.id.in_(sorted(named)))
        locked = set(conn.execute(_lock(there, table)).scalars())
        busy[name] = set(conn.execute(there).scalars()) - locked
    return busy


def prune_messages(conn: Connection, before: float, batch: int, pruned: Pruned) -> int:
    """One batch of old messages with what hangs off them; returns the messages taken."""
    ids = list(conn.execute(old_messages(before, batch)).scalars())
    if not ids:
        return 0
    posts = list(
        conn.execute(
            sa.select(runbook_posts.c.id).where(runbook_posts.c.message_id.in_(ids))
        ).scalars()
    )
    steps: list[tuple[str, sa.Delete]] = []
    if posts:
        steps += [
            ("outbox", _entries_of([OutboxKind.RUNBOOK_POST], posts)),
            ("runbook_posts", runbook_posts.delete().where(runbook_posts.c.id.in_(posts))),
        ]
    steps += [
        ("outbox", _entries_of(_MESSAGE_ENTRIES, ids)),
        ("message_alerts", members.delete().where(members.c.message_id.in_(ids))),
        ("message_events", message_events.delete().where(message_events.c.message_id.in_(ids))),
        ("silences", silences.delete().where(silences.c.message_id.in_(ids))),
        ("messages", messages.delete().where(messages.c.id.in_(ids))),
    ]
    for table, statement in steps:
        pruned.add(table, _count(conn, statement))
    return len(ids)


def prune_alerts(conn: Connection, before: float, batch: int, pruned: Pruned) -> int:
    """One batch of old alerts no message lists, with their entries; returns the taken."""
    ids = list(conn.execute(old_alerts(before, batch)).scalars())
    if not ids:
        return 0
    pruned.add("outbox", _count(conn, _entries_of(_ALERT_ENTRIES, ids)))
    pruned.add("alerts", _count(conn, alerts.delete().where(alerts.c.id.in_(ids))))
    return len(ids)


def prune_silences(conn: Connection, before: float, batch: int, pruned: Pruned) -> int:
    ids = list(conn.execute(ended_silences(before, batch)).scalars())
    if ids:
        pruned.add("silences", _count(conn, silences.delete().where(silences.c.id.in_(ids))))
    return len(ids)


def _entries_of(kinds: Sequence[str], refs: Iterable[int]) -> sa.Delete:
    """The referents' entries, but the outbox's newest row: that one is left, finished,
    for a later pass (``finished_entries``) once a newer entry is there."""
    return outbox.delete().where(
        outbox.c.kind.in_(kinds),
        outbox.c.ref.in_(sorted(refs)),
        outbox.c.id < _newest(outbox),
    )


Step = Callable[[Connection, float, int, Pruned], int]


class Retention(Database):
    def prune_history(
        self, resolved_before: float | None, finished_before: float | None, batch: int = BATCH
    ) -> Pruned:
        """One pass: a batch of each kind of history older than its time (None: kept),
        each in its own transaction. ``more``: a batch was full, so more may be left."""
        pruned = Pruned()
        steps: list[tuple[Step, float]] = []
        if finished_before is not None:
            steps.append((prune_entries, finished_before))
        if resolved_before is not None:
            steps += [
                (prune_messages, resolved_before),
                (prune_alerts, resolved_before),
                (prune_silences, resolved_before),
            ]
        for step, before in steps:
            with self._tx() as conn:
                if step(conn, before, batch, pruned) >= batch:
                    pruned.more = True
        return pruned
