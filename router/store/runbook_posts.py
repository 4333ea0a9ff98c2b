"""The runbook's replies in an alert's thread: the step checklist and "Did RUN-001 help?".

One of each per message (a unique key): two clicks on Show all steps, or two
replicas, get one checklist. What people answer goes on the message's timeline
(``message_events``): ticks, votes, step reports. One click is one event: an
answer that leaves things as they were (a double click, a replayed request) is
not recorded, and each is written under a lock on its post, so that replicas
record answers one at a time, in the order they commit. Every answer moves the
post's version on and arms its outbox entry, and the dispatcher edits the reply
(router/deliveries/runbook_post.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from router.records import Action
from router.store.acks import queue_action
from router.store.database import Database
from router.store.events import (
    CHECKLIST,
    STEP_FAILED,
    STEP_WRONG,
    TICKS,
    VOTES,
    MessageEvent,
    event_of,
)
from router.store.outbox import entries
from router.store.schema import RUNBOOK_POST, message_events, messages, pk, runbook_posts

CHECKLIST_POST = "checklist"
FEEDBACK_POST = "feedback"


@dataclass(frozen=True)
class PostedStep:
    number: int
    title: str


@dataclass(frozen=True)
class RunbookPost:
    id: int
    message_id: int
    kind: str
    """``checklist`` or ``feedback``."""
    runbook_id: str
    steps: tuple[PostedStep, ...]
    """The runbook's steps when it was posted: what may be ticked or reported."""
    slack_ts: str | None
    version: int
    created_at: float
    holder: str | None = None

    def step(self, number: int) -> PostedStep | None:
        return next((s for s in self.steps if s.number == number), None)


def _post(row: Any) -> RunbookPost:
    return RunbookPost(
        id=row.id,
        message_id=row.message_id,
        kind=row.kind,
        runbook_id=row.runbook_id,
        steps=tuple(PostedStep(int(s["number"]), str(s["title"])) for s in row.steps),
        slack_ts=row.slack_ts,
        version=row.version,
        created_at=row.created_at,
        holder=row.holder,
    )


def open_post(
    conn: Connection,
    now: float,
    message_id: int,
    kind: str,
    runbook_id: str,
    steps: Sequence[PostedStep],
    holder: str | None = None,
) -> bool:
    """The message's post of this kind, unless it has one; True if it was made now."""
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
    made = conn.execute(
        insert(runbook_posts)
        .values(
            message_id=message_id,
            kind=kind,
            runbook_id=runbook_id,
            steps=[{"number": s.number, "title": s.title} for s in steps],
            holder=holder,
            version=1,
            created_at=now,
        )
        .on_conflict_do_nothing()
    ).rowcount
    return bool(made)


def _locked(conn: Connection, post_id: int) -> RunbookPost | None:
    row = conn.execute(
        sa.select(runbook_posts).where(runbook_posts.c.id == post_id).with_for_update()
    ).first()
    return _post(row) if row is not None else None


def _moved_on(conn: Connection, now: float, post: RunbookPost) -> None:
    """The post changed: its next version, and its entry armed to edit it."""
    conn.execute(
        runbook_posts.update()
        .where(runbook_posts.c.id == post.id)
        .values(version=runbook_posts.c.version + 1)
    )
    entries.arm(conn, now, RUNBOOK_POST, {post.id: post.version + 1})


def _latest(conn: Connection, message_id: int, kinds: Sequence[str], **where: Any) -> Any:
    """The message's latest event of these kinds (and the columns ``where`` names)."""
    return conn.execute(
        sa.select(message_events)
        .where(
            message_events.c.message_id == message_id,
            message_events.c.kind.in_(kinds),
            *(message_events.c[name] == value for name, value in where.items()),
        )
        .order_by(message_events.c.at.desc(), message_events.c.id.desc())
        .limit(1)
    ).first()


class RunbookPosts(Database):
    def load_post(self, post_id: int) -> RunbookPost | None:
        with self._read() as conn:
            row = conn.execute(
                sa.select(runbook_posts).where(runbook_posts.c.id == post_id)
            ).first()
        return _post(row) if row is not None else None

    def find_post(self, slack_channel: str, slack_ts: str) -> RunbookPost | None:
        """The post Slack knows by channel ID and ts (from a signed interaction)."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(runbook_posts)
                .join(messages, messages.c.id == runbook_posts.c.message_id)
                .where(
                    runbook_posts.c.slack_ts == slack_ts, messages.c.slack_channel == slack_channel
                )
            ).first()
        return _post(row) if row is not None else None

    def message_post(self, message_id: int, kind: str) -> RunbookPost | None:
        with self._read() as conn:
            row = conn.execute(
                sa.select(runbook_posts).where(
                    runbook_posts.c.message_id == message_id, runbook_posts.c.kind == kind
                )
            ).first()
        return _post(row) if row is not None else None

    def step_event(self, event_id: int) -> tuple[MessageEvent, str] | None:
        """A tick or step report, with the runbook of its message."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(message_events, messages.c.runbook_id)
                .join(messages, messages.c.id == message_events.c.message_id)
                .where(message_events.c.id == event_id, message_events.c.step.is_not(None))
            ).first()
        return (event_of(row), str(row.runbook_id or "")) if row is not None else None

    def open_checklist(
        self, message_id: int, runbook_id: str, steps: Sequence[PostedStep], holder: str
    ) -> tuple[RunbookPost, bool]:
        """The message's checklist, and whether ``holder`` is to post it: it made it now,
        or made it before and has not posted it yet (a retry)."""
        with self._tx() as conn:
            open_post(conn, self.clock.now(), message_id, CHECKLIST_POST, runbook_id, steps, holder)
            row = conn.execute(
                sa.select(runbook_posts).where(
                    runbook_posts.c.message_id == message_id,
                    runbook_posts.c.kind == CHECKLIST_POST,
                )
            ).one()
        post = _post(row)
        return post, post.holder == holder and post.slack_ts is None

    def checklist_posted(self, post: RunbookPost, ts: str, who: str) -> None:
        """Where Slack put it, and "checklist posted" on the timeline, together."""
        with self._tx() as conn:
            conn.execute(
                runbook_posts.update().where(runbook_posts.c.id == post.id).values(slack_ts=ts)
            )
            conn.execute(
                message_events.insert().values(
                    message_id=post.message_id,
                    kind=CHECKLIST,
                    at=self.clock.now(),
                    who=who,
                    detail=post.runbook_id,
                )
            )

    def drop_post(self, post: RunbookPost) -> None:
        """Give an unposted checklist back (Slack refused it): a later click tries again."""
        with self._tx() as conn:
            conn.execute(
                runbook_posts.delete().where(
                    runbook_posts.c.id == post.id, runbook_posts.c.slack_ts.is_(None)
                )
            )

    def post_delivered(self, post_id: int, ts: str) -> None:
        with self._tx() as conn:
            conn.execute(
                runbook_posts.update()
                .where(runbook_posts.c.id == post_id, runbook_posts.c.slack_ts.is_(None))
                .values(slack_ts=ts)
            )

    def record_tick(
        self,
        post_id: int,
        step: int,
        kind: str,
        who: str,
        form: Callable[[int], Action] | None = None,
    ) -> int | None:
        """A tick on a checklist step, with ``form(event id)`` queued in the same
        transaction; None, and nothing written, if the step is already so marked or is
        not on the checklist."""
        assert kind in TICKS, kind
        now = self.clock.now()
        with self._tx() as conn:
            post = _locked(conn, post_id)
            posted = post.step(step) if post is not None else None
            if post is None or post.kind != CHECKLIST_POST or posted is None:
                return None
            latest = _latest(conn, post.message_id, TICKS, step=step)
            if latest is not None and latest.kind == kind:
                return None
            event_id = pk(
                conn.execute(
                    message_events.insert().values(
                        message_id=post.message_id,
                        kind=kind,
                        at=now,
                        who=who,
                        detail=posted.title,
                        step=step,
                    )
                )
            )
            _moved_on(conn, now, post)
            if form is not None:
                queue_action(conn, now, form(event_id))
        return event_id

    def note_step(self, event_id: int, who: str, note: str) -> bool:
        """Why a step did not work, from the form its tick opened: only by who ticked it,
        only once."""
        now = self.clock.now()
        with self._tx() as conn:
            row = conn.execute(
                sa.select(runbook_posts)
                .join(message_events, message_events.c.message_id == runbook_posts.c.message_id)
                .where(message_events.c.id == event_id, runbook_posts.c.kind == CHECKLIST_POST)
                .with_for_update(of=runbook_posts)
            ).first()
            if row is None:
                return False
            changed = conn.execute(
                message_events.update()
                .where(
                    message_events.c.id == event_id,
                    message_events.c.kind == STEP_FAILED,
                    message_events.c.who == who,
                    message_events.c.note.is_(None),
                )
                .values(note=note)
            ).rowcount
            if changed:
                _moved_on(conn, now, _post(row))
        return bool(changed)

    def record_vote(self, post_id: int, kind: str, who: str) -> int | None:
        """👍 or 👎 on the feedback question; None if it is this person's answer already."""
        assert kind in VOTES, kind
        now = self.clock.now()
        with self._tx() as conn:
            post = _locked(conn, post_id)
            if post is None or post.kind != FEEDBACK_POST:
                return None
            latest = _latest(conn, post.message_id, VOTES, who=who)
            if latest is not None and latest.kind == kind:
                return None
            event_id = pk(
                conn.execute(
                    message_events.insert().values(
                        message_id=post.message_id,
                        kind=kind,
                        at=now,
                        who=who,
                        detail=post.runbook_id,
                    )
                )
            )
            _moved_on(conn, now, post)
        return event_id

    def record_step_report(self, post_id: int, step: int, who: str, note: str) -> int | None:
        """ "A step was wrong": which and what happened; None if it is not one of the
        runbook's steps, or this person said just this already."""
        now = self.clock.now()
        with self._tx() as conn:
            post = _locked(conn, post_id)
            posted = post.step(step) if post is not None else None
            if post is None or post.kind != FEEDBACK_POST or posted is None:
                return None
            said = _latest(conn, post.message_id, (STEP_WRONG,), who=who, step=step, note=note)
            if said is not None:
                return None
            event_id = pk(
                conn.execute(
                    message_events.insert().values(
                        message_id=post.message_id,
                        kind=STEP_WRONG,
                        at=now,
                        who=who,
                        detail=posted.title,
                        step=step,
                        note=note,
                    )
                )
            )
            _moved_on(conn, now, post)
        return event_id
