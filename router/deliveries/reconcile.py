"""``reconcile``: Slack mirrors Alertmanager.

Alertmanager sends no resolve for an alert that was silenced or inhibited when
it ended (prometheus/alertmanager#226), so its message would stay firing. Every
``ROUTER_RECONCILE_INTERVAL`` seconds this timer reads ``GET /api/v2/alerts``
from each Alertmanager known (every peer of an HA pair, united) and compares the
open messages' firing alerts with it:

- an alert it lists: shown silenced (by which silences: author, comment, end,
  whoever made them) or inhibited (by which alerts), or neither;
- an alert it no longer lists has ended there (it lists only alerts whose
  ``endsAt`` has not passed): resolved, "no longer active in Alertmanager".

Never resolved: alerts stored since the read began (a webhook knows better),
anything while no peer answers (counted, logged, retried next time), and
anything while every peer that answered started less than
``ROUTER_RECONCILE_WARMUP`` ago (it keeps alerts in memory and has not heard
from Prometheus again yet). Grafana's alerts are resolved only once a pass has
seen them listed (its API's identities are not always the webhook's).

The timer is one outbox entry for all replicas: the claim's lease lets one pass
run at a time, and each pass is written in one transaction per Alertmanager.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from router.alertmanagers import EXTERNAL, Alertmanagers
from router.clock import Clock
from router.decide import Ruleset
from router.dispatcher import Deferred
from router.errors import DeliveryError
from router.metrics import Metrics
from router.notifiers.alertmanager import AlertmanagerAPI, ApiSilence, Listing
from router.store import Candidate, Mirror, MirrorOutcome, OutboxItem, SilenceFacts

log = logging.getLogger("router.reconcile")


def _identity(labels: dict[str, str]) -> frozenset[tuple[str, str]]:
    """An alert's label set, less Grafana's private ``__…__`` labels."""
    return frozenset((k, v) for k, v in labels.items() if not k.startswith("__"))


def facts_of(silence: ApiSilence) -> SilenceFacts:
    return SilenceFacts(
        silence.id,
        [m.text() for m in silence.matchers],
        silence.createdBy,
        silence.comment,
        silence.startsAt.timestamp() if silence.startsAt else None,
        silence.endsAt.timestamp() if silence.endsAt else 0.0,
        silence.status.state or "active",
    )


def plan(
    alertmanager: str,
    candidates: Sequence[Candidate],
    listing: Listing,
    silences: dict[str, ApiSilence] | None,
    read_at: float,
    *,
    warm: bool = True,
    remind_before: float = 0.0,
) -> Mirror:
    """What one read of one Alertmanager means for the stored alerts. Pure."""
    by_labels = {_identity(a.labels): a for a in listing.alerts.values()}
    names = {fp: a.labels.get("alertname") or fp[:12] for fp, a in listing.alerts.items()}
    seen: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    resolved: dict[int, float] = {}
    for candidate in candidates:
        if candidate.updated_at >= read_at:
            continue  # stored since the read began
        listed = listing.alerts.get(candidate.fingerprint) or by_labels.get(
            _identity(candidate.labels)
        )
        if listed is not None:
            inhibitors = {names.get(fp, fp[:12]) for fp in listed.status.inhibitedBy}
            seen[candidate.alert_id] = (
                tuple(sorted(set(listed.status.silencedBy))),
                tuple(sorted(inhibitors)),
            )
        elif warm and (candidate.source == "alertmanager" or candidate.mirrored_at is not None):
            resolved[candidate.alert_id] = read_at
    facts = {i: facts_of(s) for i, s in silences.items()} if silences is not None else None
    return Mirror(alertmanager, read_at, seen, resolved, facts, remind_before)


class ReconcileStore(Protocol):
    """The open messages' alerts, and what a read of Alertmanager makes of them."""

    def arm_reconciler(self) -> None: ...

    def mirror_candidates(self, sources: Iterable[str]) -> list[Candidate]: ...

    def apply_mirror(self, mirror: Mirror) -> MirrorOutcome: ...


class Reconciler:
    """The outbox handler of the reconcile timer, and the chore that arms it."""

    def __init__(
        self,
        store: ReconcileStore,
        alertmanagers: Callable[[], Alertmanagers],
        ruleset: Callable[[], Ruleset],
        metrics: Metrics,
        clock: Clock,
        interval: float,
        warmup: float,
    ) -> None:
        self.store = store
        self.alertmanagers = alertmanagers
        self.ruleset = ruleset
        self.metrics = metrics
        self.clock = clock
        self.interval = interval
        self.warmup = warmup
        self.unreachable: dict[str, float] = {}
        """Alertmanagers whose last read found no peer answering: since when (this replica)."""
        self._armed: weakref.ref[Alertmanagers] | None = None
        self._noted_at = float("-inf")

    @property
    def on(self) -> bool:
        return self.interval > 0 and len(self.alertmanagers()) > 0

    def sync(self) -> None:
        """The timer is pending when there is something to read (at start, after a reload)."""
        known = self.alertmanagers()
        if self._armed is not None and self._armed() is known:
            return
        if self.on:
            self.store.arm_reconciler()
        self._armed = weakref.ref(known)

    def __call__(self, item: OutboxItem) -> int:
        if not self.on:
            return item.version  # armed again by sync() when there is something to read
        known = self.alertmanagers()
        candidates = self.store.mirror_candidates({api.source for api in known})
        for api in known:
            mine = [c for c in candidates if known.claiming(c.source, c.links.get(EXTERNAL)) is api]
            self.reconcile(api, mine)
        raise Deferred(self.clock.now() + self.interval)

    def reconcile(self, api: AlertmanagerAPI, candidates: Sequence[Candidate]) -> None:
        """One read of one Alertmanager, stored."""
        read_at = self.clock.now()
        try:
            listing = api.alerts()
        except DeliveryError as exc:
            self._unreachable(api, exc)
            return
        if api.name in self.unreachable:
            log.info("alertmanager %s answers again", api.name)
            del self.unreachable[api.name]
        self.metrics.alertmanager_up.labels(api.name).set(1)
        self.metrics.alertmanager_reads.labels(api.name, "ok").inc()
        if listing.failed:
            log.warning(
                "alertmanager %s: %d of %d peers did not answer; read the others",
                api.name,
                len(listing.failed),
                len(listing.failed) + len(listing.answered),
            )
        try:
            silences = api.silences()
        except DeliveryError as exc:
            log.warning("alertmanager %s: silences not read: %s", api.name, exc.detail)
            silences = None
        warm = listing.started_at is None or read_at - listing.started_at >= self.warmup
        if not warm and candidates:
            log.info("alertmanager %s started moments ago: nothing resolved yet", api.name)
        remind = self.ruleset().config.data.silence.remind_before
        mirror = plan(
            api.name, candidates, listing, silences, read_at, warm=warm, remind_before=remind
        )
        outcome = self.store.apply_mirror(mirror)
        if outcome.resolved:
            self.metrics.reconcile_resolved.labels(api.name).inc(outcome.resolved)
            log.info(
                "alertmanager %s no longer lists %d alert(s): resolved",
                api.name,
                outcome.resolved,
                extra={"alertmanager": api.name},
            )

    def readiness_note(self) -> str | None:
        """For /readyz's log (at most once a minute): the Alertmanagers not answering.

        The router stays ready: it takes webhooks and delivers without them.
        """
        now = self.clock.now()
        if not self.unreachable or now - self._noted_at < 60:
            return None
        self._noted_at = now
        return ", ".join(
            f"{name} (since {now - since:.0f}s ago)"
            for name, since in sorted(self.unreachable.items())
        )

    def _unreachable(self, api: AlertmanagerAPI, exc: DeliveryError) -> None:
        self.metrics.alertmanager_up.labels(api.name).set(0)
        self.metrics.alertmanager_reads.labels(api.name, "unreachable").inc()
        self.unreachable.setdefault(api.name, self.clock.now())
        log.warning(
            "alertmanager %s: %s; nothing is resolved until it answers",
            api.name,
            exc.detail,
            extra={"alertmanager": api.name},
        )
