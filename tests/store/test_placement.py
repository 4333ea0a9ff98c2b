"""The ingest's rules as a table, without a database (router/store/placement.py)."""

from __future__ import annotations

import pytest

from router.decide import Decision
from router.severity import Severity
from router.store.placement import (
    STALE_REDELIVERY_WINDOW,
    Kept,
    Placement,
    Seen,
    is_stale,
    place,
)
from router.store.schema import ts
from router.storm import StormPolicy
from tests.helpers import make_alert

POLICY = StormPolicy(alerts=5, within=300.0, level="SEV1", channel="#incidents")
STORM_DECISION = Decision("storm", "#incidents", Severity("SEV1", "", "storm"), None)
STORMS = {"alertmanager": ("storm-message", STORM_DECISION)}
"""The storm open for Alertmanager's arrivals now (its message, as the caller knows it)."""


def decision(level: str = "SEV3", channel: str = "#team", **kw: object) -> Decision:
    return Decision("team", channel, Severity(level, "", "label"), None, **kw)  # type: ignore[arg-type]


def kept(
    alert_id: int,
    *decisions: Decision,
    status: str = "firing",
    previous: str | None = None,
) -> Kept:
    ends = "2026-11-22T01:10:00Z" if status == "resolved" else None
    alert = make_alert(status=status, ends_at=ends, pod=f"p{alert_id}")
    seen = Seen(alert_id, previous, None) if previous is not None else None
    return Kept(alert, list(decisions or [decision()]), seen, alert_id)


def where(k: Kept, storms: dict[str, tuple[str, Decision]] | None = None,
          in_storm: frozenset[int] = frozenset(),
          policy: StormPolicy | None = POLICY) -> list[tuple[str, str | None, bool]]:  # fmt: skip
    """Each join of the alert: (channel, storm message or None for its own, pointer)."""
    placed = place([k], storms or {}, set(in_storm), policy)
    return [(j.decision.channel, j.storm, j.pointer) for j in placed.joins]


def test_a_new_alert_joins_its_own_message_per_decision_posted() -> None:
    k = kept(1, decision(channel="#a"), decision(channel="#b"), decision(notify=False))
    assert where(k) == [("#a", None, False), ("#b", None, False)]


def test_a_resolved_alert_is_resolved_where_it_is_listed_and_joins_nothing() -> None:
    k = kept(1, status="resolved", previous="firing")
    placed = place([k], STORMS, set(), POLICY)
    assert placed.joins == []
    assert placed.resolved == {1: ts(k.alert.ends_at)}


def test_an_arrival_in_a_storm_joins_the_storm_and_points_from_its_other_channels() -> None:
    k = kept(1, decision(channel="#team"), decision(channel="#incidents"))
    assert where(k, STORMS) == [
        ("#incidents", "storm-message", False),
        ("#team", "storm-message", True),  # the storm's own channel needs no pointer
    ]


@pytest.mark.parametrize(
    ("case", "k", "storms", "in_storm", "want"),
    [
        # A storm folds arrivals only: a repeat of a firing alert stays where it is ...
        ("repeat, in no storm", kept(1, previous="firing"), STORMS, frozenset(),
         [("#team", None, False)]),
        # ... or is left alone when the storm already lists it.
        ("repeat the storm lists", kept(1, previous="firing"), STORMS, frozenset({1}), []),
        # Firing again after a resolve is an arrival.
        ("firing again", kept(1, previous="resolved"), STORMS, frozenset(),
         [("#incidents", "storm-message", False), ("#team", "storm-message", True)]),
        # As severe as the storm (SEV1): never folded, its own message.
        ("as severe as the storm", kept(1, decision("SEV1")), STORMS, frozenset(),
         [("#team", None, False)]),
        # Below the storm's min_level (SEV3): not counted, not folded.
        ("below min_level", kept(1, decision("SEV4")), STORMS, frozenset(),
         [("#team", None, False)]),
        # A storm of another source takes nothing from this one.
        ("another source's storm", kept(1), {"grafana": STORMS["alertmanager"]}, frozenset(),
         [("#team", None, False)]),
    ],
)  # fmt: skip
def test_storms_fold_arrivals_less_severe_than_themselves(
    case: str,
    k: Kept,
    storms: dict[str, tuple[str, Decision]],
    in_storm: frozenset[int],
    want: list[tuple[str, str | None, bool]],
) -> None:
    assert where(k, storms, in_storm) == want, case


def test_without_a_storm_policy_nothing_folds() -> None:
    assert where(kept(1), STORMS, policy=None) == [("#team", None, False)]


def test_a_held_decision_is_held_not_joined() -> None:
    held = decision(channel="#held", held_until=1000.0)
    k = kept(1, decision(channel="#now"), held)
    placed: Placement[str] = place([k], {}, set(), POLICY)
    assert [j.decision.channel for j in placed.joins] == ["#now"]
    assert placed.held == [(k, held)]


@pytest.mark.parametrize(
    ("case", "refires", "previous", "since_resolve", "stale"),
    [
        ("firing after a resolve seen just now, same startsAt", True, "resolved", 1.0, True),
        ("the same, later than the window", True, "resolved", STALE_REDELIVERY_WINDOW + 1, False),
        ("resolved for good (does not refire)", False, "resolved", 3600.0, True),
        ("still firing", True, "firing", 1.0, False),
    ],
)
def test_a_stale_redelivery(
    case: str, refires: bool, previous: str, since_resolve: float, stale: bool
) -> None:
    alert = make_alert().model_copy(update={"refires": refires})
    now = 10_000.0
    seen = Seen(1, previous, ts(alert.starts_at), resolved_seen_at=now - since_resolve)
    assert is_stale(alert, seen, now) is stale, case
    assert not is_stale(alert.model_copy(update={"status": "resolved"}), seen, now)
