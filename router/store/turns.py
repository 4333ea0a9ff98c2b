"""Slack's pace, about a message a second per channel, kept in the database.

Every replica's dispatcher takes turns from the same table, so a channel gets
its message a second however many replicas deliver. A claim reads the turns of
the channels it meets (locked, in channel order, on PostgreSQL), hands them out
and writes them back in its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from router.store.schema import channel_turns

_TURNS = (
    sa.select(channel_turns.c.channel, channel_turns.c.next_free)
    .where(channel_turns.c.channel.in_(sa.bindparam("channels", expanding=True)))
    .order_by(channel_turns.c.channel)  # one lock order for every replica: no deadlock
    .with_for_update()
)
_SAVE = (
    channel_turns.update()
    .where(channel_turns.c.channel == sa.bindparam("b_channel"))
    .values(next_free=sa.bindparam("b_next"))
)


class ChannelTurns:
    """The next free turn of some channels, for one transaction."""

    def __init__(
        self,
        conn: Connection,
        now: float,
        interval: float,
        channels: Iterable[str],
        known: set[str],
    ) -> None:
        """``known``: channels whose row exists (rows are never deleted), kept by the caller."""
        self.conn = conn
        self.now = now
        self.interval = interval
        wanted = sorted(set(channels))
        self._next: dict[str, float] = {}
        self._taken: set[str] = set()
        if not wanted:
            return
        if new := [c for c in wanted if c not in known]:
            # Created before any turn is locked, in one order: replicas cannot deadlock.
            insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
            conn.execute(
                insert(channel_turns).on_conflict_do_nothing(),
                [{"channel": c, "next_free": 0.0} for c in new],
            )
        rows = conn.execute(_TURNS, {"channels": wanted})
        self._next = {row.channel: row.next_free for row in rows}
        known.update(wanted)

    def take(self, channel: str) -> float:
        """The channel's next turn: now, or the later time to go at."""
        at = max(self.now, self._next.get(channel, 0.0))
        self._next[channel] = at + self.interval
        self._taken.add(channel)
        return at

    def save(self) -> None:
        if self._taken:
            self.conn.execute(
                _SAVE, [{"b_channel": c, "b_next": self._next[c]} for c in sorted(self._taken)]
            )
