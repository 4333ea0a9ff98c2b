"""IngestPolicy: what a ruleset asks of the ingest, built once, and the response clock's
first look that it sets."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from router.decide import Ruleset, load_ruleset
from router.store import IngestPolicy, Store
from router.store.kinds import OutboxKind
from router.store.schema import outbox
from tests.deliveries.test_response_clock import timed_routes
from tests.fakes.clock import FakeClock
from tests.helpers import RUNBOOKS, make_alert


def clock_due(store: Store) -> list[float]:
    with store.engine.connect() as conn:
        query = sa.select(outbox.c.due_at).where(outbox.c.kind == OutboxKind.RESPONSE_CLOCK)
        return list(conn.execute(query).scalars())


def test_one_policy_per_ruleset(tmp_path: Path, ruleset: Ruleset) -> None:
    timed = load_ruleset(timed_routes(tmp_path), RUNBOOKS)
    policy = IngestPolicy.of(timed)
    assert IngestPolicy.of(timed) is policy
    assert IngestPolicy.of(timed, pagerduty_notes=True) is not policy
    assert IngestPolicy.of(timed, pagerduty_notes=True).pagerduty_notes
    assert policy.storm is None  # timed_routes takes the storm policy out
    assert IngestPolicy.of(ruleset).storm == ruleset.storm_policy
    # SEV1: ack_within 5m, resolve_within 2h, update_every 15m: the soonest is 5 minutes.
    assert policy.first_look == {"SEV1": 300.0}
    assert policy.first_look is timed.first_looks  # read once, with the ruleset


def test_a_new_message_s_clock_is_due_when_it_first_has_work(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    """Not at once (a look that finds nothing to do), but at its first response time."""
    timed = load_ruleset(timed_routes(tmp_path), RUNBOOKS)
    policy = IngestPolicy.of(timed)
    alert = make_alert(env="prod")  # the db-pool route, SEV1
    [decision] = timed.decide(alert)
    assert decision.severity.level == "SEV1"
    start = clock.now()
    store.ingest([(alert, [decision])], policy=policy)
    assert clock_due(store) == [start + 300.0]
    clock.advance(60)  # a repeat keeps the clock where it is
    store.ingest([(alert, [decision])], policy=policy)
    assert clock_due(store) == [start + 300.0]


def test_a_message_that_rises_to_a_timed_level_is_looked_at_now(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    """Its response times count from when it was posted, which may be long past."""
    timed = load_ruleset(timed_routes(tmp_path), RUNBOOKS)
    policy = IngestPolicy.of(timed)
    alert = make_alert(env="prod")
    [decision] = timed.decide(alert)
    low = replace(decision, severity=replace(decision.severity, level="SEV3"))
    store.ingest([(alert, [low])], policy=policy)
    assert clock_due(store) == []
    clock.advance(3600)
    store.ingest([(alert, [decision])], policy=policy)
    assert clock_due(store) == [clock.now()]
