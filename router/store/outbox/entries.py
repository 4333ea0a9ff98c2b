"""Outbox entries written inside the caller's transaction: arm, and move messages on.

The outbox has one row per (kind, ref). Slack messages carry a version that
moves on with every change; the dispatcher marks a row done only for the
version it delivered, so changes made while Slack is away collapse into one edit.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from router.store.kinds import OutboxState
from router.store.schema import (
    RESPONSE_CLOCK,
    SLACK_MESSAGE,
    chunks,
    members,
    messages,
    outbox,
)

# Per message, in the database (a storm message lists thousands): the most severe level
# still firing (None: none is) and of all. "SEV0" < ... < "SEV4" as text, too.
_MEMBER_LEVELS = (
    sa.select(
        members.c.message_id,
        sa.func.min(sa.case((members.c.status == "firing", members.c.level))).label("firing"),
        sa.func.min(members.c.level).label("every"),
    )
    .where(members.c.message_id.in_(sa.bindparam("ids", expanding=True)))
    .group_by(members.c.message_id)
)
_MESSAGE_VERSIONS = sa.select(messages.c.id, messages.c.version, messages.c.level).where(
    messages.c.id.in_(sa.bindparam("ids", expanding=True))
)
_NEXT = messages.update().where(messages.c.id == sa.bindparam("b_id"))
_RAISED: sa.BindParameter[str] = sa.bindparam("raised", type_=sa.String)
_FIRING_NEW = _NEXT.values(version=messages.c.version + 1, closed=False, resolved_at=None)
"""A message created in this transaction: all its members fired in it."""
_FIRING = _FIRING_NEW.values(
    # The more severe of the level it had (an open message's: its firing members') and
    # the one its changes fired at.
    level=sa.case((messages.c.level < _RAISED, messages.c.level), else_=_RAISED),
)
_QUEUED = sa.select(outbox.c.ref, outbox.c.state, outbox.c.version).where(
    outbox.c.kind == sa.bindparam("kind"), outbox.c.ref.in_(sa.bindparam("refs", expanding=True))
)
_TARGET = sa.and_(outbox.c.kind == sa.bindparam("b_kind"), outbox.c.ref == sa.bindparam("b_ref"))


def move_messages(
    conn: Connection,
    now: float,
    message_ids: Iterable[int],
    first_look: Mapping[str, float] | None = None,
    raised: Mapping[int, str] | None = None,
    created: Container[int] = (),
) -> None:
    """These messages changed: next version, level and state, and their entries armed.

    A message's level is that of its most severe alert still firing, or of all when none
    is (then it is closed). ``raised``: open messages whose changes only set members
    firing, each with the most severe level they fired at; theirs is found from the level
    they had (or that alone, for a message ``created`` in this transaction) without
    counting their members (a storm lists thousands). The others are counted.

    A message firing at a level of ``first_look`` (levels with response times) gets its
    response-time clock, due when it first has something to do (for a message created
    here; now for one that rose to such a level); a clock already there looks again when
    its message closes.
    """
    ids = sorted(set(message_ids))
    if not ids:
        return
    raised = raised or {}
    counted = [i for i in ids if i not in raised]
    firing: dict[int, str | None] = dict.fromkeys(counted)
    every: dict[int, str] = {}
    for chunk in chunks(counted):
        for row in conn.execute(_MEMBER_LEVELS, {"ids": list(chunk)}):
            firing[row.message_id] = row.firing
            every[row.message_id] = row.every
    if counted:
        conn.execute(
            _NEXT.values(version=messages.c.version + 1),
            [
                {
                    "b_id": i,
                    "updated_at": now,
                    "level": firing[i] or every[i],
                    "closed": not firing[i],
                    "resolved_at": None if firing[i] else now,
                }
                for i in counted
            ],
        )
    kept = [{"b_id": i, "updated_at": now, "raised": raised[i]} for i in ids if i in raised]
    new = [row for row in kept if row["b_id"] in created]
    if new:
        conn.execute(
            _FIRING_NEW, [{"b_id": r["b_id"], "updated_at": now, "level": r["raised"]} for r in new]
        )
    old = [row for row in kept if row["b_id"] not in created]
    if old:
        conn.execute(_FIRING, old)
    versions: dict[int, int] = {}
    for chunk in chunks(ids):
        for row in conn.execute(_MESSAGE_VERSIONS, {"ids": list(chunk)}):
            versions[row.id] = row.version
            if row.id in raised:
                firing[row.id] = row.level
    arm(conn, now, SLACK_MESSAGE, versions)
    looks = first_look or {}
    due: dict[int, float] = {}
    for i in ids:
        level = firing[i]
        if level is not None and level in looks:
            due[i] = now + looks[level] if i in created else now
    if due:
        arm(conn, now, RESPONSE_CLOCK, dict.fromkeys(due), only_new=True, due=due)
    closed = [i for i in ids if not firing[i]]
    if closed:
        wake_clock(conn, now, closed)


def wake_clock(conn: Connection, now: float, message_ids: Iterable[int]) -> None:
    """The messages' response-time clocks, where they have one, look at them now."""
    refs = sorted(set(message_ids))
    conn.execute(
        outbox.update()
        .where(
            outbox.c.kind == RESPONSE_CLOCK,
            outbox.c.ref.in_(refs),
            outbox.c.state == OutboxState.PENDING,
        )
        # A turn kept for the clock is given up: it takes the channel's next one.
        .values(due_at=now, slot=None, version=outbox.c.version + 1, updated_at=now)
    )


def arm(
    conn: Connection,
    now: float,
    kind: str,
    versions: Mapping[int, int | None],
    *,
    only_new: bool = False,
    due: Mapping[int, float] | None = None,
) -> None:
    """Create or re-arm the outbox entries of ``kind`` for these refs, due now.

    A version of None means "one more than now". Delivered entries are armed
    again at once; so are dead letters (a permanent error such as
    not_in_channel is often fixed while an incident goes on, and if it is not,
    the entry is dead again after one call). A pending entry keeps its
    backoff and takes the new version. ``only_new``: refs with an entry keep it.
    ``due``: when the new entries of these refs come due, if not now.
    """
    refs = sorted(versions)
    queued: dict[int, tuple[str, int]] = {}
    for chunk in chunks(refs):
        for row in conn.execute(_QUEUED, {"kind": kind, "refs": list(chunk)}):
            queued[row.ref] = (row.state, row.version)
    due = due or {}
    inserts = [
        _entry(kind, ref, versions[ref] or 1, now) | {"due_at": due.get(ref, now)}
        for ref in refs
        if ref not in queued
    ]
    if inserts:
        conn.execute(outbox.insert(), inserts)
    if only_new:
        return
    rearm: list[dict[str, Any]] = []
    bump: list[dict[str, Any]] = []
    for ref, (state, version) in queued.items():
        entry = {"b_kind": kind, "b_ref": ref, "version": versions[ref] or version + 1}
        (bump if state == OutboxState.PENDING else rearm).append(entry)
    if rearm:
        conn.execute(
            outbox.update()
            .where(_TARGET)
            .values(state=OutboxState.PENDING, due_at=now, enqueued_at=now, updated_at=now),
            rearm,
        )
    if bump:
        conn.execute(outbox.update().where(_TARGET).values(updated_at=now), bump)


def schedule(conn: Connection, now: float, kind: str, ref: int, due_at: float) -> None:
    """A timer: the entry of ``kind`` for ``ref``, pending and due at ``due_at`` (a newer
    version each time, so a delivery under way completes into the new time)."""
    updated = conn.execute(
        outbox.update()
        .where(outbox.c.kind == kind, outbox.c.ref == ref)
        .values(
            state=OutboxState.PENDING,
            due_at=due_at,
            version=outbox.c.version + 1,
            attempts=0,
            reason=None,
            last_error=None,
            updated_at=now,
        )
    ).rowcount
    if not updated:
        conn.execute(outbox.insert().values(_entry(kind, ref, 1, now) | {"due_at": due_at}))


def pending(conn: Connection, now: float, kind: str, ref: int) -> None:
    """A timer that is pending: due now if it was not (a pending one keeps its time)."""
    updated = conn.execute(
        outbox.update()
        .where(outbox.c.kind == kind, outbox.c.ref == ref, outbox.c.state != OutboxState.PENDING)
        .values(
            state=OutboxState.PENDING,
            due_at=now,
            version=outbox.c.version + 1,
            attempts=0,
            updated_at=now,
        )
    ).rowcount
    if not updated:
        arm(conn, now, kind, {ref: 1}, only_new=True)


def _entry(kind: str, ref: int, version: int, now: float) -> dict[str, Any]:
    return {
        "kind": kind,
        "ref": ref,
        "version": version,
        "done_version": 0,
        "state": OutboxState.PENDING,
        "due_at": now,
        "enqueued_at": now,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
