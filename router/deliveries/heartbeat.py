"""The dead man's switch: when a ``heartbeat:`` route's alert stops arriving, say so.

Alertmanager users route an always-firing alert (Watchdog) to something that
notices its absence. Here a route says ``heartbeat: 10m``; when no copy has
arrived for that long, a SEV1 "the alerting pipeline is silent" alert is stored
for the route's channel (and paged if the route has ``page:``), and posted like
any other. The next copy resolves it, which edits the message and replies in
its thread.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from router.alert import Alert, SourceName
from router.clock import Clock
from router.config import LevelName
from router.decide import Decision, Ruleset
from router.render.blocks import duration
from router.severity import Severity
from router.store import OutboxItem
from router.store.heartbeats import GROUP_PREFIX as HEARTBEAT_GROUP
from router.store.heartbeats import Heartbeat

ALERTNAME = "AlertingPipelineSilent"
LEVEL: LevelName = "SEV1"


def silent_alert(beat: Heartbeat, source: SourceName, now: float) -> Alert:
    """The alarm, in plain words: which alert is silent, since when, and what it means."""
    expected = beat.alertname or f"alert on route {beat.route}"
    since = datetime.fromtimestamp(beat.last_seen, UTC)
    return Alert(
        source=source,
        status="firing",
        name=ALERTNAME,
        fingerprint=f"heartbeat:{beat.route}:{beat.last_seen:.0f}",
        group_key=f"{HEARTBEAT_GROUP}{beat.route}",
        labels={"alertname": ALERTNAME, "heartbeat": expected, "route": beat.route},
        annotations={
            "description": (
                f"{expected} should reach the router at least every {duration(beat.interval)} "
                f"(route {beat.route}); none has come for {duration(now - beat.last_seen)}. "
                "Until it does, other alerts may be reaching no one."
            )
        },
        starts_at=since,
        summary=f"The alerting pipeline is silent: no {expected} since "
        f"{since.strftime('%Y-%m-%d %H:%M UTC')}",
    )


class HeartbeatStore(Protocol):
    """The heartbeats' timers, and the alarm raised as an alert."""

    def sync_heartbeats(self, wanted: dict[str, float]) -> None: ...

    def heartbeat(self, heartbeat_id: int) -> Heartbeat | None: ...

    def raise_heartbeat_alarm(
        self, heartbeat_id: int, alert: Alert, decisions: list[Decision]
    ) -> bool: ...


class HeartbeatChecker:
    """The outbox handler for heartbeat timers, and the chore that arms them."""

    def __init__(self, store: HeartbeatStore, ruleset: Callable[[], Ruleset], clock: Clock) -> None:
        self.store = store
        self.ruleset = ruleset
        self.clock = clock
        self._synced: weakref.ref[Ruleset] | None = None
        """The ruleset last synced; weak, so a replaced ruleset is not kept alive here."""

    def sync(self) -> None:
        """Timers for the current routes' heartbeats (after a reload, the new ones)."""
        ruleset = self.ruleset()
        if self._synced is not None and self._synced() is ruleset:
            return
        self.store.sync_heartbeats(ruleset.table.heartbeats())
        self._synced = weakref.ref(ruleset)

    def __call__(self, item: OutboxItem) -> int:
        return self.check(item)

    def check(self, item: OutboxItem) -> int:
        """Raise the alarm if the heartbeat is overdue; the timer is done either way.

        An arrival re-arms the timer with a newer version, so it comes back then.
        """
        beat = self.store.heartbeat(item.ref)
        ruleset = self.ruleset()
        route = ruleset.table.find(beat.route) if beat else None
        if beat is None or route is None or not route.heartbeat:
            return item.version  # the route is gone from routes.yaml: nothing to watch
        now = self.clock.now()
        if beat.alarm_alert_id is not None or beat.due_at > now:
            return item.version
        data = ruleset.config.data
        level = data.severity.levels[LEVEL]
        reason = f"heartbeat: no {beat.alertname or 'alert'} for {duration(beat.interval)}"
        link = ruleset.link_to(route.runbook, f"route {route.name!r}") if route.runbook else None
        decision = Decision(
            route.name,
            route.channel or data.defaults.channel,
            Severity(LEVEL, level.respond, reason, level.mention),
            link,
            page=route.page,
        )
        alert = silent_alert(beat, route.heartbeat_source, now)
        self.store.raise_heartbeat_alarm(beat.id, alert, [decision])
        return item.version
