"""The decision for one alert: which routes, channel, runbook and level. Pure.

Runbook resolution, first that applies:

1. the route's ``runbook`` (the routing table is the operator's word);
2. the alert's ``runbook_id`` label or annotation, or a RUN- id inside its
   ``runbook_url``: the rule's author chose an entry for this very alert, which
   is more specific than a claim made by name for every alert of that name;
3. the one entry whose ``Alerts:`` line lists the alert's name (a claim);
4. a ``runbook_url`` to an outside page, linked as is. It comes after a claim
   because a RUN- entry puts its steps into the message and a link cannot, and
   because rule sets such as kube-prometheus give every alert an outside
   ``runbook_url``: were it first, no claim on those names would ever apply.

Otherwise the alert is unmatched.

A firing alert decided at a time (``now``) on a route with time intervals that
hold it then (muted, or outside its active time) gets ``held_until``: it is
stored and shown, and posted when the route opens (router/store/holds.py).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from router.alert import Alert
from router.config import Level, LoadedConfig, load_routes, walk_routes
from router.config_values import RUNBOOK_ID
from router.errors import ConfigError, Problem
from router.records import RunbookRef, StoredDecision
from router.routing import Route, RouteTable
from router.runbooks import Catalog, Runbook, load_catalog
from router.runbooks.catalog import runbook_number
from router.runbooks.search import SearchIndex
from router.settings import DEFAULT_PUBLIC_URL
from router.severity import Severity, classify
from router.storm import StormPolicy
from router.timeinterval import Hold, Schedule

LinkOrigin = Literal["route", "alert", "claim", "outside"]
"""Where a runbook link came from, in the order of resolution (the module's docstring)."""
_URL_FIELD = re.compile(r"\{(id|public_url)\}")
_SOURCE_FIELD = re.compile(r"\{(path|line|id)\}")
_RUNBOOK_PAGE = "/runbooks/{id}"


@dataclass(frozen=True)
class RunbookLink:
    url: str
    title: str
    reason: str
    runbook: Runbook | None = None
    """Set when the link is one of our RUN- entries."""
    runbook_id: str | None = None
    """The RUN- id, also when that entry is missing or could not be read."""
    origin: LinkOrigin = "route"

    @property
    def key(self) -> str:
        return self.runbook_id or self.url

    @property
    def ref(self) -> RunbookRef:
        """As a message and its members keep it."""
        return RunbookRef(self.runbook_id, self.url, self.title, self.reason)


@dataclass(frozen=True)
class Decision:
    route: str | None
    """None when no route matched and the defaults applied."""
    channel: str
    severity: Severity
    runbook: RunbookLink | None
    page: str | None = None
    """A PagerDuty routing key name: page through the Events API too."""
    notify: bool = True
    """False: stored and shown, never posted (``notify: false``, or a meta alert)."""
    heartbeat: float | None = None
    """The route's ``heartbeat:`` interval: this alert's arrivals are the heartbeat (only
    for an alert from the route's heartbeat source)."""
    held_until: float | None = None
    """Held by the route's time intervals until then: stored and shown, posted then."""
    held: str | None = None
    """Why and until when, in words."""

    @property
    def posts_now(self) -> bool:
        """Posted as it arrives: notified and not held."""
        return self.notify and self.held_until is None

    def record(self) -> StoredDecision:
        """As stored with the alert, explained by /api/route, read by the dispatcher."""
        link = self.runbook
        return StoredDecision(
            route=self.route,
            channel=self.channel,
            level=self.severity.level,
            respond=self.severity.respond,
            reason=self.severity.reason,
            runbook=link.runbook_id if link else None,
            runbook_title=link.title if link else None,
            runbook_url=link.url if link else None,
            runbook_reason=link.reason if link else "no runbook: unmatched",
            page=self.page,
            notify=self.notify,
            heartbeat=self.heartbeat,
            held_until=self.held_until,
            held=self.held,
        )


def _is_web_url(value: str) -> bool:
    return value.startswith(("https://", "http://")) and len(value) <= 2000


class Ruleset:
    """routes.yaml and the runbooks folder, loaded and checked against each other."""

    def __init__(
        self,
        config: LoadedConfig,
        catalog: Catalog,
        problems: list[Problem] | None = None,
        *,
        public_url: str | None = None,
        serving_at: str = DEFAULT_PUBLIC_URL,
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.problems = list(problems or [])
        """What was left out or does not resolve; empty when ``check`` passes."""
        self._public_url = public_url.rstrip("/") if public_url else None
        self.public_url = self._public_url or serving_at.rstrip("/")
        """``{public_url}`` in links: ROUTER_PUBLIC_URL, else serve's own address."""
        self.table = RouteTable.from_config(config.data.routes, config.data.receivers)
        self._schedules: dict[tuple[tuple[str, ...], tuple[str, ...]], Schedule] = {}
        for route in self.table.walk():
            if route.timed and (route.mute, route.active) not in self._schedules:
                schedule = Schedule(route.mute, route.active, config.intervals)
                self._schedules[(route.mute, route.active)] = schedule

    @cached_property
    def index(self) -> SearchIndex:
        """Search over these runbooks (/runbook and /runbooks?q=), built once per load."""
        return SearchIndex(self.catalog)

    @cached_property
    def first_looks(self) -> dict[str, float]:
        """Levels with a response time -> the soonest of their ``ack_within``,
        ``resolve_within`` and ``update_every``: when a message's response-time clock
        first has something to do."""
        looks: dict[str, float] = {}
        for name, level in self.config.data.severity.levels.items():
            times = [t for t in (level.ack_within, level.resolve_within, level.update_every) if t]
            if times:
                looks[name] = min(times)
        return looks

    @cached_property
    def storm_policy(self) -> StormPolicy | None:
        data = self.config.data
        return StormPolicy.from_config(data.severity.storm, data.defaults.channel)

    def level(self, name: str) -> Level | None:
        """A severity level's settings (respond, mention, response times) by name."""
        for level_name, level in self.config.data.severity.levels.items():
            if level_name == name:
                return level
        return None

    def runbook_url(self, runbook: Runbook | str) -> str:
        """``defaults.runbook_url`` with ``{id}`` and ``{public_url}`` filled in, in one pass."""
        values = {
            "id": runbook if isinstance(runbook, str) else runbook.id,
            "public_url": self.public_url,
        }
        return _URL_FIELD.sub(lambda m: values[m.group(1)], self.config.data.defaults.runbook_url)

    def source_url(self, runbook: Runbook, line: int | None = None) -> str | None:
        """Where the entry is edited (``defaults.source_url``), at ``line`` (default: its
        first line); None when the routes file names no such place."""
        written = self.config.data.defaults.source_url
        if written is None:
            return None
        values = {
            "path": urllib.parse.quote(runbook.path),
            "line": str(line or runbook.first_line),
            "id": runbook.id,
        }
        return _SOURCE_FIELD.sub(lambda m: values[m.group(1)], written)

    @property
    def pages_url(self) -> str:
        """Where links to the router's own pages (alerts, drafts) start: ROUTER_PUBLIC_URL;
        unset, the address a ``runbook_url`` written as ``https://host/runbooks/{id}``
        names (files from before ``{public_url}``); else serve's own, as ``{public_url}``."""
        if self._public_url is None:
            written = self.config.data.defaults.runbook_url
            base = written.removesuffix(_RUNBOOK_PAGE)
            if written.endswith(_RUNBOOK_PAGE) and _is_web_url(base) and "{" not in base:
                return base.rstrip("/")
        return self.public_url

    def _link(self, runbook: Runbook, reason: str, origin: LinkOrigin) -> RunbookLink:
        url = self.runbook_url(runbook)
        return RunbookLink(url, runbook.title, reason, runbook, runbook.id, origin)

    def link_to(self, runbook_id: str, reason: str, origin: LinkOrigin = "route") -> RunbookLink:
        """A link to a RUN- entry; one that is broken or missing still links, and says so."""
        if (runbook := self.catalog.get(runbook_id)) is not None:
            return self._link(runbook, reason, origin)
        rid = runbook_id.strip().upper()
        why = self.catalog.unreadable(rid) or f"{rid} is not in the runbooks folder"
        reason = f"{reason}; not readable: {why}"
        return RunbookLink(self.runbook_url(rid), rid, reason, None, rid, origin)

    def _alert_runbook(self, alert: Alert) -> RunbookLink | None:
        """Steps 2 to 4 of the module's resolution order, for a route naming no runbook."""
        for where, values in (("label", alert.labels), ("annotation", alert.annotations)):
            rid = values.get("runbook_id", "")
            if runbook_number(rid) is not None and (
                rid in self.catalog or self.catalog.unreadable(rid)
            ):
                return self.link_to(rid, f"runbook_id {where}", "alert")
        url = alert.annotations.get("runbook_url") or alert.labels.get("runbook_url", "")
        if (m := RUNBOOK_ID.search(url)) and (rb := self.catalog.get(m.group(0))):
            return self._link(rb, "runbook_url names it", "alert")
        name = alert.labels.get("alertname") or alert.name
        if (claimed := self.catalog.claims.by_name.get(name)) is not None:
            return self._link(claimed, f"{claimed.id} lists {name}", "claim")
        if _is_web_url(url):
            reason = "runbook_url annotation (outside page)"
            return RunbookLink(url, "External runbook", reason, origin="outside")
        return None

    def hold(self, route: Route, now: float) -> Hold | None:
        """Whether the route's time intervals hold what it would post now, and until when."""
        if not route.timed:
            return None
        return self._schedules[(route.mute, route.active)].hold(now)

    def decide(self, alert: Alert, now: float | None = None) -> list[Decision]:
        """The alert's decisions; at ``now``, whether its routes' time intervals hold it
        (None: time is not looked at, as for ``coverage``)."""
        defaults = self.config.data.defaults
        severity_config = self.config.data.severity
        routes = self.table.match(alert)
        if not routes:
            severity = classify(alert, severity_config)
            found = self._alert_runbook(alert)
            return [Decision(None, defaults.channel, severity, found, notify=not severity.meta)]
        decisions = []
        for route in routes:
            link: RunbookLink | None
            if route.runbook:
                link = self.link_to(route.runbook, f"route {route.name!r}")
            else:
                link = self._alert_runbook(alert)
            severity = classify(alert, severity_config, override=route.severity, route=route.name)
            page = route.page if alert.source != "pagerduty" else None  # never page PD from PD
            channel = route.channel or defaults.channel
            notify = route.notify if route.notify is not None else not severity.meta
            page = page if notify else None
            held = None
            if notify and now is not None and alert.status == "firing":
                held = self.hold(route, now)
            decisions.append(
                Decision(
                    route.name,
                    channel,
                    severity,
                    link,
                    page,
                    notify,
                    route.heartbeat if alert.source == route.heartbeat_source else None,
                    held.until if held else None,
                    held.reason if held else None,
                )
            )
        return decisions


def check_references(config: LoadedConfig, catalog: Catalog) -> list[Problem]:
    problems = []
    for loc, route in walk_routes(config.data.routes):
        if route.runbook and route.runbook not in catalog:
            why = catalog.unreadable(route.runbook)
            message = (
                f"unknown runbook {route.runbook}"
                if why is None
                else (f"runbook {route.runbook} could not be read ({why})")
            )
            problems.append(config.problem((*loc, "runbook"), message))
    return problems


def check_paging(config: LoadedConfig, routing_keys: set[str]) -> list[Problem]:
    """Every ``page:`` names a routing key that is configured."""
    problems = []
    for loc, route in walk_routes(config.data.routes):
        if route.page and route.page not in routing_keys:
            known = ", ".join(sorted(routing_keys)) or "none"
            problems.append(
                config.problem(
                    (*loc, "page"),
                    f"no routing key named {route.page!r} in PAGERDUTY_ROUTING_KEYS"
                    f" (known: {known})",
                )
            )
    return problems


def load_ruleset(
    routes_path: str | Path,
    runbooks_dir: str | Path,
    *,
    strict: bool = True,
    public_url: str | None = None,
    serving_at: str = DEFAULT_PUBLIC_URL,
) -> Ruleset:
    """Load both and check every cross-reference.

    ``strict`` (``check``, the CI gate): any problem raises ConfigError. Otherwise
    (the server) only an unusable routes file or a missing folder raises; runbooks
    that cannot be read, and routes naming them, are in ``Ruleset.problems``.
    ``public_url`` (ROUTER_PUBLIC_URL) or, unset, ``serving_at`` (serve's address) is
    ``{public_url}`` in ``runbook_url``.
    """
    problems: list[Problem] = []
    config: LoadedConfig | None = None
    catalog: Catalog | None = None
    try:
        config = load_routes(routes_path)
    except ConfigError as exc:
        problems += exc.problems
    try:
        catalog = load_catalog(runbooks_dir)
    except ConfigError as exc:
        problems += exc.problems
    if config is None or catalog is None:
        raise ConfigError(problems)
    problems += catalog.problems + catalog.claims.problems + check_references(config, catalog)
    if strict and problems:
        raise ConfigError(problems)
    return Ruleset(config, catalog, problems, public_url=public_url, serving_at=serving_at)
