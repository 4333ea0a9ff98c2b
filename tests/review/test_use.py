"""A runbook's use from stored facts: a table of messages and what was said, no database."""

from __future__ import annotations

import pytest

from router.review.use import DAY, use_of
from router.store import MessageEvent, Said, UsedMessage
from router.store.events import DID_NOT_HELP, HELPED, STEP_DONE, STEP_FAILED, STEP_WRONG

NOW = 1_795_320_000.0


def message(n: int, days_ago: float, *, ack: float | None, lasted: float | None, alerts: int = 1,
            runbook: str = "RUN-001", names: tuple[str, ...] = ("PoolHigh",)) -> UsedMessage:  # fmt: skip
    fired = NOW - days_ago * DAY
    return UsedMessage(
        id=n,
        runbook_id=runbook,
        created_at=fired + 30,
        fired_at=fired,
        acknowledged_at=fired + ack if ack is not None else None,
        ended_at=fired + lasted if lasted is not None else None,
        alerts=alerts,
        names=names,
        first_alert=n * 10,
    )


def said(message_id: int, kind: str, who: str, step: int | None = None, note: str | None = None,
         runbook: str = "RUN-001") -> Said:  # fmt: skip
    return Said(
        runbook, message_id, MessageEvent(kind, NOW, f"slack:{who}", f"Step {step}", step, note)
    )


MESSAGES = [
    message(1, 5, ack=60, lasted=600, alerts=2),
    message(2, 20, ack=180, lasted=None),  # still firing
    message(3, 60, ack=None, lasted=1800, names=("PoolHigh", "PgBouncerWaiting")),
    message(4, 10, ack=30, lasted=60, runbook="RUN-002"),  # another runbook's
]
SAID = [
    said(1, STEP_DONE, "U1", 1),
    said(1, STEP_FAILED, "U2", 2, "needs superuser"),
    said(1, HELPED, "U1"),
    said(1, DID_NOT_HELP, "U1"),  # changed their mind: the latest counts
    said(1, DID_NOT_HELP, "U2"),
    said(3, HELPED, "U3"),
    said(3, STEP_WRONG, "U3", 4, "the pool is in PgBouncer"),
    said(4, DID_NOT_HELP, "U9", runbook="RUN-002"),
]


def test_windows_times_and_feedback() -> None:
    use = use_of("RUN-001", MESSAGES, SAID, NOW)
    assert [(w.days, w.alerts, w.incidents) for w in use.windows] == [(30, 3, 2), (90, 4, 3)]
    assert use.last_used == pytest.approx(NOW - 5 * DAY + 30)
    assert (use.acknowledged, use.median_ack) == (2, 120)
    assert (use.resolved, use.median_resolve) == (2, 1200)
    assert (use.feedback.helped, use.feedback.did_not_help, use.feedback.steps_wrong) == (1, 2, 1)
    assert use.feedback.negative == 3
    assert use.checklists == 1
    assert [(n.step, n.note, n.alert) for n in use.failed_steps] == [(2, "needs superuser", 10)]
    assert [(n.step, n.note) for n in use.steps_wrong] == [(4, "the pool is in PgBouncer")]
    by_alert = {
        a.name: (a.alerts, a.feedback.helped, a.feedback.did_not_help) for a in use.by_alert
    }
    assert by_alert == {"PgBouncerWaiting": (1, 1, 0), "PoolHigh": (4, 1, 2)}


def test_a_runbook_never_used() -> None:
    use = use_of("RUN-009", MESSAGES, SAID, NOW)
    assert not use.used
    assert use.last_used is None
    assert (use.median_ack, use.median_resolve) == (None, None)
    assert use.feedback.negative == 0


def test_last_used_from_before_the_window_is_kept() -> None:
    use = use_of("RUN-009", [], [], NOW, last_used=NOW - 400 * DAY)
    assert use.last_used == NOW - 400 * DAY
    assert not use.used
