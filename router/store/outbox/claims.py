"""The outbox as the dispatcher sees it: claim with a lease, then done, retry, defer or dead.

Several replicas can share one database: a claim takes a lease, PostgreSQL
skips rows another replica holds, and an expired lease is claimed again. A
claim also keeps Slack's pace per channel for all of them (router/store/turns.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from router import storable
from router.clock import Clock
from router.store.database import Database
from router.store.kinds import TIMERS, OutboxState
from router.store.schema import SLACK_MESSAGE, deliveries, messages, outbox
from router.store.turns import ChannelTurns


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    ref: int
    version: int
    attempts: int
    enqueued_at: float
    turn: float | None = None
    """The channel's turn this entry was given and that has come: it goes on it."""


@dataclass(frozen=True)
class Claim:
    items: list[OutboxItem]
    """Leased to the claimer, to deliver now."""
    put_off: int = 0
    """Entries made due later instead, at their channel's turn."""


_LEASE_FREE = sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < sa.bindparam("now"))
SCAN = 5
"""A claim looks at up to this many times its limit (the rest being put off to their turn)."""
_DUE = (
    sa.select(outbox, messages.c.channel)
    # Posts and edits keep the channel's pace; a clock that may only look does not.
    .outerjoin(messages, sa.and_(outbox.c.kind == SLACK_MESSAGE, messages.c.id == outbox.c.ref))
    .where(
        outbox.c.state == OutboxState.PENDING,
        outbox.c.due_at <= sa.bindparam("now"),
        _LEASE_FREE,
    )
    .order_by(outbox.c.due_at, outbox.c.id)
    .limit(sa.bindparam("scan"))
    # Replicas skip each other's rows instead of queueing on them (PostgreSQL); the
    # rows stay locked to this transaction until their lease or new time is written.
    .with_for_update(of=outbox, skip_locked=True)
)
_WAIT = outbox.update().where(outbox.c.id == sa.bindparam("b_id"))
_LEASE = (
    outbox.update()
    .where(outbox.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(lease_owner=sa.bindparam("owner"), lease_until=sa.bindparam("until"), slot=None)
)


class OutboxQueue(Database):
    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        super().__init__(engine, clock)
        self._turns_made: set[str] = set()
        """Channels with a row in channel_turns (never deleted): not created again."""

    def release_leases(self) -> None:
        with self._tx() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.lease_owner.is_not(None))
                .values(lease_owner=None, lease_until=None)
            )

    def claim(self, owner: str, lease_seconds: float, limit: int = 20, pace: float = 0.0) -> Claim:
        """Up to ``limit`` entries due now, oldest first, leased to ``owner``.

        With ``pace`` (seconds between messages to one channel), a message's post
        or edit goes at its channel's turn: one that comes early is given the next
        free turn, kept for it, and made due then. (Other kinds take a turn with
        ``take_turn`` when they post.) A claim looks at up to ``SCAN`` times
        ``limit`` entries, so a backlog is put off in a few transactions.
        """
        now = self.clock.now()
        taken: list[OutboxItem] = []
        waits: list[dict[str, Any]] = []
        with self._tx() as conn:
            rows = conn.execute(_DUE, {"now": now, "scan": limit * SCAN if pace else limit}).all()
            # Posts and edits without a turn of their own yet: each needs one now.
            need_turn = {
                r.id: r.channel for r in rows if pace and r.channel is not None and r.slot is None
            }
            turns = ChannelTurns(conn, now, pace, need_turn.values(), self._turns_made)
            for row in rows:
                if row.id in need_turn:
                    at = turns.take(row.channel)
                    if at > now:
                        waits.append({"b_id": row.id, "due_at": at, "slot": at})
                        continue
                taken.append(
                    OutboxItem(
                        row.id,
                        row.kind,
                        row.ref,
                        row.version,
                        row.attempts,
                        row.enqueued_at,
                        row.slot,
                    )
                )
                if len(taken) == limit:
                    break
            turns.save()
            if waits:
                conn.execute(_WAIT, waits)
            if taken:
                ids = [item.id for item in taken]
                conn.execute(_LEASE, {"ids": ids, "owner": owner, "until": now + lease_seconds})
        return Claim(taken, len(waits))

    def take_turn(self, item: OutboxItem, channel: str, pace: float) -> float:
        """A turn of the channel for a handler about to post there (not claimed with one):
        now, or a later time, kept for the entry (it goes then, when claimed again)."""
        now = self.clock.now()
        with self._tx() as conn:
            turns = ChannelTurns(conn, now, pace, [channel], self._turns_made)
            at = turns.take(channel)
            turns.save()
            if at > now:
                conn.execute(outbox.update().where(outbox.c.id == item.id).values(slot=at))
        return at

    def next_due(self) -> float | None:
        with self._read() as conn:
            value = conn.execute(
                sa.select(sa.func.min(outbox.c.due_at)).where(outbox.c.state == OutboxState.PENDING)
            ).scalar()
        return float(value) if value is not None else None

    def complete(self, item: OutboxItem, delivered_version: int) -> None:
        """Done for the version delivered; pending again if a newer change came in."""
        now = self.clock.now()
        newer = outbox.c.version > delivered_version
        with self._tx() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.id == item.id)
                .values(
                    done_version=delivered_version,
                    state=sa.case((newer, OutboxState.PENDING), else_=OutboxState.DONE),
                    enqueued_at=sa.case((newer, now), else_=outbox.c.enqueued_at),
                    attempts=0,
                    reason=None,
                    last_error=None,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
            )

    def retry_later(self, item: OutboxItem, due_at: float, reason: str, error: str) -> None:
        self._fail(item, OutboxState.PENDING, due_at, reason, error)

    def defer(self, items: Sequence[tuple[OutboxItem, float]]) -> None:
        """Not now (a handler's Deferred): each back to pending, due at its time; no
        attempt counted, no error. An entry woken while its handler ran (a newer
        version) keeps the time it was woken for."""
        now = self.clock.now()
        same = outbox.c.version == sa.bindparam("b_version")
        with self._tx() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.id == sa.bindparam("b_id"))
                .values(
                    due_at=sa.case((same, sa.bindparam("b_due")), else_=outbox.c.due_at),
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                ),
                [
                    {"b_id": item.id, "b_version": item.version, "b_due": due_at}
                    for item, due_at in items
                ],
            )

    def dead(self, item: OutboxItem, reason: str, error: str) -> None:
        self._fail(item, OutboxState.DEAD, self.clock.now(), reason, error)

    def _fail(
        self, item: OutboxItem, state: OutboxState, due_at: float, reason: str, error: str
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.id == item.id)
                .values(
                    state=state,
                    due_at=due_at,
                    attempts=outbox.c.attempts + 1,
                    reason=reason,
                    last_error=storable.text(error)[:1000],
                    lease_owner=None,
                    lease_until=None,
                    updated_at=self.clock.now(),
                )
            )

    def outbox_counts(self) -> dict[str, int]:
        """Deliveries by state; timers (heartbeats, response clocks, holds) are not counted."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(outbox.c.state, sa.func.count())
                .where(outbox.c.kind.not_in(sorted(TIMERS)))
                .group_by(outbox.c.state)
            ).all()
        return {state: int(n) for state, n in rows}

    def prune_deliveries(self, older_than: float) -> int:
        """Forget delivery ids older than this (senders stop retrying long before)."""
        with self._tx() as conn:
            return int(
                conn.execute(
                    deliveries.delete().where(deliveries.c.received_at < older_than)
                ).rowcount
            )
