"""Typed records read back what earlier releases stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from router.decide import Ruleset
from router.records import (
    ACTION,
    AcknowledgeMessage,
    ExpireSilence,
    ShareRunbook,
    SilenceNotice,
    StoredDecision,
    ThreadSteps,
)
from router.store import Store
from router.store.schema import actions
from tests.fakes.clock import FakeClock
from tests.helpers import ROOT, make_alert

RELEASE_0_1_0 = ROOT / "tests/fixtures/databases/router-0.1.0.sqlite.sql"


@pytest.fixture
def old_store(tmp_path: Path, clock: FakeClock) -> Store:
    """A database written by release 0.1.0, upgraded."""
    path = tmp_path / "router.db"
    with sqlite3.connect(path) as db:
        db.executescript(RELEASE_0_1_0.read_text(encoding="utf-8"))
    store = Store.from_url(f"sqlite:///{path}", clock)
    store.create_schema()
    return store


def test_alerts_stored_by_release_0_1_0_load_as_records(old_store: Store) -> None:
    alert = old_store.load_alert(1)
    assert alert is not None
    (decision,) = alert.decisions
    # 0.1.0 stored no notify or heartbeat: the defaults are what 0.1.0 did.
    assert (decision.route, decision.runbook, decision.notify, decision.heartbeat) == (
        "worker-crashloop",
        "RUN-006",
        True,
        None,
    )
    summary = old_store.recent_alerts()[0]
    assert summary.decisions[0].level == "SEV3"
    detail = old_store.alert_detail(1)
    assert detail is not None
    assert detail.deliveries[0].channel == "#data-platform"
    old_store.engine.dispose()


def test_a_decision_round_trips_and_ignores_keys_it_does_not_know(ruleset: Ruleset) -> None:
    (decision,) = ruleset.decide(make_alert(env="prod"))
    stored = decision.record().model_dump()
    again = StoredDecision.model_validate(stored | {"added_by_a_later_release": 1})
    assert again == decision.record()
    assert again.runbook == "RUN-001"


def test_stored_actions_load_as_their_kind(store: Store) -> None:
    """An action row as the previous release wrote it (kind column + data) loads typed."""
    now = store.clock.now()
    with store.engine.begin() as conn:
        conn.execute(
            actions.insert().values(
                kind="pagerduty_ack",
                data={"user_id": "U1", "user_name": "ana", "response_url": None, "message_id": 7},
                created_at=now,
            )
        )
    assert store.load_action(1) == AcknowledgeMessage(user_id="U1", user_name="ana", message_id=7)
    new_id = store.enqueue_action(ShareRunbook(user_id="U2", runbook="RUN-001", response_url="u"))
    assert store.load_action(new_id) == ShareRunbook(
        user_id="U2", runbook="RUN-001", response_url="u"
    )


def test_an_action_of_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="thread_steps"):
        ACTION.validate_python({"kind": "explode", "user_id": "U1"})
    assert isinstance(
        ACTION.validate_python({"kind": "thread_steps", "user_id": "U1", "message_id": 1}),
        ThreadSteps,
    )


def test_silence_actions_round_trip(store: Store) -> None:
    expire = ExpireSilence(user_id="U1", response_url="u", message_id=3, silence=9)
    notice = SilenceNotice(user_id="", message_id=3, silence=9, what="ending")
    assert store.load_action(store.enqueue_action(expire)) == expire
    assert store.load_action(store.enqueue_action(notice)) == notice
