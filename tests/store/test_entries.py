"""router/store/outbox/entries.py: the outbox writes made inside a storing transaction."""

from __future__ import annotations

import sqlalchemy as sa

from router.store import Store
from router.store.kinds import OutboxKind, OutboxState
from router.store.outbox import entries
from router.store.schema import outbox
from tests.fakes.clock import FakeClock

KIND = OutboxKind.RECONCILE


def entry(store: Store) -> tuple[str, float, int]:
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(outbox.c.state, outbox.c.due_at, outbox.c.version).where(
                outbox.c.kind == KIND, outbox.c.ref == 0
            )
        ).one()
    return row.state, row.due_at, row.version


def test_a_timer_made_pending_is_due_now_and_keeps_its_time_while_pending(
    store: Store, clock: FakeClock
) -> None:
    with store.engine.begin() as conn:
        entries.pending(conn, clock.now(), KIND, 0)
    assert entry(store) == (OutboxState.PENDING, clock.now(), 1)
    with store.engine.begin() as conn:
        entries.schedule(conn, clock.now(), KIND, 0, clock.now() + 600)
    later = clock.now() + 600
    clock.advance(5)
    with store.engine.begin() as conn:  # at a reload: a pending timer keeps its time
        entries.pending(conn, clock.now(), KIND, 0)
    assert entry(store) == (OutboxState.PENDING, later, 2)
    with store.engine.begin() as conn:
        conn.execute(outbox.update().values(state=OutboxState.DEAD))
        entries.pending(conn, clock.now(), KIND, 0)  # one given up is due again, now
    assert entry(store) == (OutboxState.PENDING, clock.now(), 3)
