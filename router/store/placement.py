"""The ingest's rules, pure: which alerts are stale, and where each alert goes.

Given what is stored of each alert before this request (``Seen``) and the storms open
now, ``place`` says for every alert written (``Kept``): resolved, into its own messages,
into a storm's (with a pointer in each of its other channels), skipped as a repeat the
storm already lists, or held by its route's time intervals. router/store/ingest.py reads
what these need and executes the placement; tests/store/test_placement.py drives the
rules as a table, without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from router.alert import Alert
from router.decide import Decision
from router.store.schema import ts
from router.storm import StormPolicy

STALE_REDELIVERY_WINDOW = 30.0
"""Seconds after a resolve in which a firing copy with the same startsAt is stale.

Alertmanager HA peers can deliver a group's firing notification late, after
another peer's resolve. Later than this, a firing alert with the same startsAt
is taken as firing again (Prometheus keeps activeAt across its own restarts, so a
re-fire after an outage looks just like that): better a message too many than a
firing alert dropped.
"""

M = TypeVar("M")
"""A message as the caller knows it (an open message's id and key, in the store)."""


@dataclass(frozen=True)
class Seen:
    """What is stored of an alert before this request."""

    id: int
    status: str
    starts_at: float | None
    resolved_seen_at: float | None = None
    fired_at: float | None = None


@dataclass(frozen=True)
class Kept:
    """An alert of this request that will be written, with its stored id."""

    alert: Alert
    decisions: list[Decision]
    previous: Seen | None
    id: int = 0

    @property
    def arrives(self) -> bool:
        """Begins firing now (new, or firing again)."""
        previous = self.previous
        return self.alert.status == "firing" and (previous is None or previous.status != "firing")

    @property
    def live(self) -> list[Decision]:
        """The decisions not held by their route's time intervals (router/store/holds.py)."""
        return [d for d in self.decisions if d.held_until is None]


def is_stale(alert: Alert, previous: Seen, now: float) -> bool:
    """A firing copy of an alert that has resolved since: a late redelivery, not news."""
    if alert.status != "firing" or previous.status != "resolved":
        return False
    if not alert.refires:  # resolved for good: a firing copy is a replay
        return True
    return (
        previous.starts_at == ts(alert.starts_at)
        and previous.resolved_seen_at is not None
        and now - previous.resolved_seen_at < STALE_REDELIVERY_WINDOW
    )


@dataclass(frozen=True)
class Join(Generic[M]):
    """One alert into one message, as one of its decisions."""

    kept: Kept
    decision: Decision
    storm: M | None = None
    """The storm message it joins (or points to, with ``pointer``); None: its own."""
    pointer: bool = False
    """Into the pointer message in the decision's channel that says it joined ``storm``."""


@dataclass
class Placement(Generic[M]):
    resolved: dict[int, float | None] = field(default_factory=dict)
    """Alert id -> when it ended: resolved in the open messages that list it."""
    joins: list[Join[M]] = field(default_factory=list)
    held: list[tuple[Kept, Decision]] = field(default_factory=list)
    """Decisions a route's time intervals hold: posted when they open."""


def place(
    kept: list[Kept],
    storms: Mapping[str, tuple[M, Decision]],
    in_storm: set[int],
    policy: StormPolicy | None,
) -> Placement[M]:
    """Where each alert goes. ``storms``: by source, the storm message its arrivals make
    now and the storm's decision; ``in_storm``: alerts an open storm lists as firing."""
    placed: Placement[M] = Placement()
    for k in kept:
        alert, decisions = k.alert, k.live
        if alert.status == "resolved":
            placed.resolved[k.id] = ts(alert.ends_at)
            continue
        placed.held += [(k, d) for d in k.decisions if d.notify and d.held_until is not None]
        storm = storms.get(alert.source) if k.arrives else None
        if storm is not None and policy is not None and policy.folds(decisions):
            message, decision = storm
            placed.joins.append(Join(k, decision, message))
            placed.joins += [
                Join(k, own, message, pointer=True)
                for own in decisions
                if own.notify and own.channel != decision.channel
            ]
            continue
        if k.id in in_storm:
            continue  # a repeat of an alert the storm message already lists
        placed.joins += [Join(k, d) for d in decisions if d.notify]
    return placed
