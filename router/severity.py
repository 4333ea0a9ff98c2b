"""One scale, SEV0 (most severe) to SEV4, and why an alert got its level.

The level comes from the route's override, else the source's map in routes.yaml
(label -> raw value -> level, first label present wins), else the default. An
unmapped raw value is never silent: it falls to the default and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from router.alert import Alert
from router.config import LEVEL_NAMES, LevelName, SeverityConfig

META_VALUE = "none"
"""The severity kube-prometheus gives Watchdog and InfoInhibitor: not for people."""


@dataclass(frozen=True)
class Severity:
    level: LevelName
    respond: str
    reason: str
    mention: str | None = None
    unmapped: bool = False
    """True when the source sent a value the map does not know."""
    meta: bool = False
    """A meta alert (``severity: none``: Watchdog, InfoInhibitor): below SEV4, not posted."""

    @property
    def rank(self) -> int:
        """0 for SEV0: lower is more severe."""
        return LEVEL_NAMES.index(self.level)


def _severity(
    config: SeverityConfig, level: LevelName, reason: str, unmapped: bool = False
) -> Severity:
    spec = config.levels[level]
    return Severity(level, spec.respond, reason, spec.mention, unmapped)


def _meta(config: SeverityConfig, what: str) -> Severity:
    reason = f"{what}: a meta alert, below SEV4; not posted unless a route says notify"
    return replace(_severity(config, "SEV4", reason), meta=True)


def classify(
    alert: Alert, config: SeverityConfig, *, override: LevelName | None = None, route: str = ""
) -> Severity:
    if override is not None:
        return _severity(config, override, f"route {route!r} sets {override}")
    maps = config.from_source.get(alert.source, {})
    unmapped: list[str] = []
    for label, table in maps.items():
        raw = alert.labels.get(label)
        if not raw:
            continue
        level = table.get(raw) or table.get(raw.lower())
        if level is not None:
            return _severity(config, level, f"{label}={raw} -> {level} ({alert.source} map)")
        if raw.lower() == META_VALUE:
            return _meta(config, f"{label}={raw}")
        unmapped.append(f"{label}={raw}")
    if (alert.source_severity or "").lower() == META_VALUE:
        return _meta(config, f"severity={alert.source_severity}")
    if unmapped:
        reason = f"{', '.join(unmapped)} not in the {alert.source} map -> default {config.default}"
        return _severity(config, config.default, reason, unmapped=True)
    if maps:
        labels = " or ".join(maps)
        return _severity(config, config.default, f"no {labels} label -> default {config.default}")
    return _severity(config, config.default, f"no {alert.source} map -> default {config.default}")


def most_severe(levels: list[Severity]) -> Severity:
    return min(levels, key=lambda s: s.rank)
