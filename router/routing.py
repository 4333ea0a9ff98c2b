"""The routing table: ordered routes, first match wins unless ``continue: true``.

Same semantics as an Alertmanager route tree: every matcher of a route must
match (a missing label is ``""``); a route with child ``routes`` hands the alert
to its first matching child (more with ``continue``) and takes it itself only
when no child does; children inherit the channel (or ``receiver``), runbook,
level, page and source they do not set, but not ``mute_time_intervals`` or
``active_time_intervals``, which are each route's own (dispatch/route.go). A
route may be limited to one source.
Routes that need one label to have one of a few exact values (``team="x"``,
``alertname=~"A|B|C"``) are indexed by that label and value, so a table of
thousands of routes costs about as much per alert as one of a hundred.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from router.alert import Alert, SourceName
from router.config import LevelName, RouteConfig, receiver_channel
from router.matchers import Matcher, Op, parse_matchers

HEARTBEAT_SOURCE: SourceName = "alertmanager"
"""What alone feeds a ``heartbeat:`` route that names no ``source``: a Watchdog from any
other sender (a Grafana rule, a PagerDuty incident of that title) must not end the alarm."""


@dataclass(frozen=True)
class Route:
    name: str
    index: int
    matchers: tuple[Matcher, ...]
    source: SourceName | None = None
    runbook: str | None = None
    channel: str | None = None
    severity: LevelName | None = None
    page: str | None = None
    continue_: bool = False
    notify: bool | None = None
    heartbeat: float | None = None
    escalate_to: str | None = None
    mute: tuple[str, ...] = ()
    """``mute_time_intervals``: held while one of these holds the time."""
    active: tuple[str, ...] = ()
    """``active_time_intervals``: held while none of these holds the time."""
    children: tuple[Route, ...] = ()

    @classmethod
    def from_config(
        cls,
        index: int,
        cfg: RouteConfig,
        parent: Route | None = None,
        where: str = "routes",
        receivers: Mapping[str, str] | None = None,
    ) -> Route:
        matchers = [m for text in cfg.matchers for m in parse_matchers(text)]
        matchers += [Matcher.create(k, Op.EQ, v) for k, v in cfg.match.items()]
        matchers += [Matcher.create(k, Op.RE, v) for k, v in cfg.match_re.items()]
        channel = cfg.channel
        if channel is None and cfg.receiver is not None:
            channel = receiver_channel(cfg.receiver, receivers or {})
        route = cls(
            name=cfg.name or f"{where}[{index}]",
            index=index,
            matchers=tuple(matchers),
            source=cfg.source or (parent.source if parent else None),
            runbook=cfg.runbook or (parent.runbook if parent else None),
            channel=channel or (parent.channel if parent else None),
            severity=cfg.severity or (parent.severity if parent else None),
            page=cfg.page or (parent.page if parent else None),
            continue_=cfg.continue_,
            notify=cfg.notify if cfg.notify is not None else (parent.notify if parent else None),
            heartbeat=cfg.heartbeat,
            escalate_to=cfg.escalate_to or (parent.escalate_to if parent else None),
            mute=tuple(cfg.mute_time_intervals),
            active=tuple(cfg.active_time_intervals),
        )
        where = f"{where}[{index}].routes"
        children = tuple(
            cls.from_config(j, c, route, where, receivers) for j, c in enumerate(cfg.routes)
        )
        return replace(route, children=children)

    @property
    def timed(self) -> bool:
        """Held at some times by its own time intervals."""
        return bool(self.mute or self.active)

    @property
    def heartbeat_source(self) -> SourceName:
        """The one source whose alerts on this route are its heartbeat."""
        return self.source or HEARTBEAT_SOURCE

    def matches(self, alert: Alert) -> bool:
        """This route's own matchers (a child's parent has matched already)."""
        if self.source is not None and self.source != alert.source:
            return False
        return all(m.matches(alert.labels) for m in self.matchers)

    def match(self, alert: Alert) -> list[Route]:
        """Alertmanager's ``Route.Match``: the matching leaves, or this route itself."""
        if not self.matches(alert):
            return []
        taken: list[Route] = []
        for child in self.children:
            found = child.match(alert)
            taken += found
            if found and not child.continue_:
                break
        return taken or [self]


_LITERAL = re.compile(r"[A-Za-z0-9_:/ -]*")  # no regex syntax (a "." matches anything)


def pin(route: Route) -> tuple[str, frozenset[str]] | None:
    """A label the route needs to have one of a few exact values, if it has one.

    ``name="v"`` pins to {v}; ``name=~"a|b|c"`` with plain literal alternatives
    (no regex syntax) pins to {a, b, c}. A missing label is "", as in matching.
    """
    for m in route.matchers:
        if m.op is Op.EQ:
            return m.name, frozenset([m.value])
        if m.op is Op.RE:
            parts = m.value.split("|")
            if all(_LITERAL.fullmatch(p) for p in parts):
                return m.name, frozenset(parts)
    return None


class RouteTable:
    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)
        self._index: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self._unpinned: list[int] = []
        for route in self.routes:
            pinned = pin(route)
            if pinned is None:
                self._unpinned.append(route.index)
                continue
            label, values = pinned
            for value in values:
                self._index[label][value].append(route.index)

    @classmethod
    def from_config(
        cls, routes: Sequence[RouteConfig], receivers: Mapping[str, str] | None = None
    ) -> RouteTable:
        """The table of a file's routes; ``receivers`` maps their ``receiver`` to channels."""
        return cls([Route.from_config(i, r, receivers=receivers) for i, r in enumerate(routes)])

    def _candidates(self, alert: Alert) -> list[int]:
        """Routes that can match: the indexed ones for the alert's values, and the rest."""
        found: list[int] = []
        for label, by_value in self._index.items():
            found += by_value.get(alert.labels.get(label, ""), ())
        if not found:
            return self._unpinned
        return sorted(set(found).union(self._unpinned))

    def find(self, name: str) -> Route | None:
        """A route, nested ones too, by its name."""
        pending = list(self.routes)
        while pending:
            route = pending.pop(0)
            if route.name == name:
                return route
            pending += route.children
        return None

    def walk(self) -> Iterator[Route]:
        """Every route, nested ones too, parents first."""
        pending = list(self.routes)
        while pending:
            route = pending.pop(0)
            yield route
            pending += route.children

    def heartbeats(self) -> dict[str, float]:
        """Route name -> interval, for every route with ``heartbeat:``."""
        found: dict[str, float] = {}
        pending = list(self.routes)
        while pending:
            route = pending.pop(0)
            if route.heartbeat:
                found[route.name] = route.heartbeat
            pending += route.children
        return found

    def match(self, alert: Alert) -> list[Route]:
        """The routes the alert takes, in order; empty when none matches."""
        taken: list[Route] = []
        for index in self._candidates(alert):
            found = self.routes[index].match(alert)
            taken += found
            if found and not self.routes[index].continue_:
                break
        return taken
