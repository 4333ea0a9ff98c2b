"""The routing table: ordered routes, first match wins unless ``continue: true``.

Same semantics as an Alertmanager route list: every matcher of a route must
match (a missing label is ``""``), and a route may be limited to one source.
Routes that pin ``alertname`` with ``=`` are indexed by it, so a table of
thousands of routes costs about as much per alert as one of a hundred.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from router.alert import Alert
from router.config import LevelName, RouteConfig
from router.matchers import Matcher, Op, parse_matchers


@dataclass(frozen=True)
class Route:
    name: str
    index: int
    matchers: tuple[Matcher, ...]
    source: str | None = None
    runbook: str | None = None
    channel: str | None = None
    severity: LevelName | None = None
    page: str | None = None
    continue_: bool = False

    @classmethod
    def from_config(cls, index: int, cfg: RouteConfig) -> Route:
        matchers = tuple(m for text in cfg.matchers for m in parse_matchers(text))
        return cls(
            name=cfg.name or f"routes[{index}]",
            index=index,
            matchers=matchers,
            source=cfg.source,
            runbook=cfg.runbook,
            channel=cfg.channel,
            severity=cfg.severity,
            page=cfg.page,
            continue_=cfg.continue_,
        )

    def matches(self, alert: Alert) -> bool:
        if self.source is not None and self.source != alert.source:
            return False
        return all(m.matches(alert.labels) for m in self.matchers)


def _pinned_alertname(route: Route) -> str | None:
    for m in route.matchers:
        if m.name == "alertname" and m.op is Op.EQ:
            return m.value
    return None


class RouteTable:
    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)
        self._by_alertname: dict[str, list[int]] = defaultdict(list)
        self._unpinned: list[int] = []
        for route in self.routes:
            pinned = _pinned_alertname(route)
            if pinned is None:
                self._unpinned.append(route.index)
            else:
                self._by_alertname[pinned].append(route.index)

    @classmethod
    def from_config(cls, routes: Sequence[RouteConfig]) -> RouteTable:
        return cls([Route.from_config(i, r) for i, r in enumerate(routes)])

    def _candidates(self, alert: Alert) -> list[int]:
        pinned = self._by_alertname.get(alert.labels.get("alertname", ""), [])
        if not pinned:
            return self._unpinned
        return sorted(pinned + self._unpinned)

    def match(self, alert: Alert) -> list[Route]:
        """The routes the alert takes, in order; empty when none matches."""
        taken: list[Route] = []
        for index in self._candidates(alert):
            route = self.routes[index]
            if route.matches(alert):
                taken.append(route)
                if not route.continue_:
                    break
        return taken
