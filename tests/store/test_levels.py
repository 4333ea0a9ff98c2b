"""A message's level and state after any run of changes, as its members say.

The ingest finds the level of a message whose changes only set members firing from the
level it had (router/store/outbox/entries.py ``move_messages``, ``raised``) and counts the members
of the others; either way, every message must end as its members say: the most severe
level still firing, or of all when none fires (then closed).
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
import sqlalchemy as sa

from router.config import LevelName
from router.decide import Decision, Ruleset
from router.store import IngestPolicy, Store
from router.store.schema import members, messages
from router.storm import StormPolicy
from tests.fakes.clock import FakeClock
from tests.helpers import make_alert

SEVERITIES = ("critical", "error", "warning", "info")
LEVELS: tuple[LevelName, ...] = ("SEV0", "SEV1", "SEV2", "SEV3", "SEV4")
STORM = StormPolicy(alerts=6, within=300.0, level="SEV1", channel="#incidents")


def at(decisions: list[Decision], level: LevelName) -> list[Decision]:
    return [replace(d, severity=replace(d.severity, level=level)) for d in decisions]


def as_members_say(store: Store) -> list[tuple[int, str, bool, str, bool]]:
    """Each message with its level and state, beside the level and state its members give."""
    with store.engine.connect() as conn:
        stored = {r.id: (r.level, r.closed) for r in conn.execute(sa.select(messages))}
        rows = conn.execute(sa.select(members.c.message_id, members.c.status, members.c.level))
        listed: dict[int, list[tuple[str, str]]] = {}
        for row in rows:
            listed.setdefault(row.message_id, []).append((row.status, row.level))
    found = []
    for message_id, levels in sorted(listed.items()):
        firing = [level for status, level in levels if status == "firing"]
        want = (min(firing) if firing else min(level for _, level in levels), not firing)
        level, closed = stored[message_id]
        found.append((message_id, level, bool(closed), want[0], want[1]))
    return found


@pytest.mark.parametrize("seed", range(6))
def test_every_message_is_as_its_members_say(
    store: Store, clock: FakeClock, ruleset: Ruleset, seed: int
) -> None:
    rng = random.Random(seed)
    storm = STORM if seed % 2 else None
    for _ in range(40):
        group = rng.randrange(3)
        batch = []
        for pod in rng.sample(range(5), rng.randint(1, 4)):
            status = rng.choice(("firing", "firing", "resolved"))
            alert = make_alert(
                "KubePodCrashLooping",
                group_key=f"g{group}",
                status=status,
                severity=rng.choice(SEVERITIES),
                pod=f"pod-{group}-{pod}",
                fingerprint=f"fp-{group}-{pod}",
                ends_at="2026-11-22T01:10:00Z" if status == "resolved" else None,
            )
            decisions = ruleset.decide(alert)
            if rng.random() < 0.5:  # a level of its own in the same messages
                decisions = at(decisions, rng.choice(LEVELS))
            batch.append((alert, decisions))
        store.ingest(batch, policy=IngestPolicy(storm, {"SEV0": 60.0, "SEV1": 60.0}))
        clock.advance(rng.choice((1.0, 30.0, 400.0)))
    found = as_members_say(store)
    assert len(found) >= 3
    wrong = [row for row in found if row[1:3] != row[3:5]]
    assert wrong == [], "(message, level, closed) stored vs as its members say"


def test_a_member_less_severe_than_it_was_makes_its_message_so(
    store: Store, ruleset: Ruleset
) -> None:
    """The one firing change that can lower a message's level: it is counted again."""

    alert = make_alert("KubePodCrashLooping", severity="critical", pod="a", fingerprint="fp-a")
    for level in ("SEV1", "SEV4"):
        store.ingest([(alert, at(ruleset.decide(alert), level))])
    [(_, level, closed, want_level, want_closed)] = as_members_say(store)
    assert (level, closed) == (want_level, want_closed) == ("SEV4", False)
