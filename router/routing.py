"""The routing table: ordered routes, first match wins unless ``continue: true``.

Same semantics as an Alertmanager route list: every matcher of a route must
match (a missing label is ``""``), and a route may be limited to one source.
Routes that need one label to have one of a few exact values (``team="x"``,
``alertname=~"A|B|C"``) are indexed by that label and value, so a table of
thousands of routes costs about as much per alert as one of a hundred.
"""

from __future__ import annotations

import re
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
    def from_config(cls, routes: Sequence[RouteConfig]) -> RouteTable:
        return cls([Route.from_config(i, r) for i, r in enumerate(routes)])

    def _candidates(self, alert: Alert) -> list[int]:
        """Routes that can match: the indexed ones for the alert's values, and the rest."""
        found: list[int] = []
        for label, by_value in self._index.items():
            found += by_value.get(alert.labels.get(label, ""), ())
        if not found:
            return self._unpinned
        return sorted(set(found).union(self._unpinned))

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
