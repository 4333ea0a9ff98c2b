"""Alert storms: when many alerts from one source fire at once, one message for them.

The policy (``severity.storm`` in routes.yaml) is pure and lives here; the
store counts arrivals and keeps the storm message (router/store/storms.py); the
renderer draws it (router/render/message.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from router.config import LEVEL_NAMES, LevelName, Storm
from router.severity import Severity


class Decision(Protocol):
    """What the policy reads of one of an alert's decisions (router.decide.Decision)."""

    @property
    def notify(self) -> bool: ...

    @property
    def severity(self) -> Severity: ...


@dataclass(frozen=True)
class StormPolicy:
    """severity.storm from routes.yaml, resolved: how many, how fast, what then."""

    alerts: int
    within: float
    level: LevelName
    channel: str
    min_level: LevelName = "SEV3"

    @classmethod
    def from_config(cls, storm: Storm | None, default_channel: str) -> StormPolicy | None:
        if storm is None:
            return None
        channel = storm.channel or default_channel
        return cls(storm.alerts, storm.within, storm.escalate_to, channel, storm.min_level)

    def counts(self, decisions: Sequence[Decision]) -> bool:
        """Counts toward a storm: posted, and at ``min_level`` or above."""
        floor = LEVEL_NAMES.index(self.min_level)
        return any(d.notify and d.severity.rank <= floor for d in decisions)

    def keeps_own_message(self, decisions: Sequence[Decision]) -> bool:
        """As severe as the storm itself: never folded into it."""
        top = LEVEL_NAMES.index(self.level)
        return any(d.notify and d.severity.rank <= top for d in decisions)

    def folds(self, decisions: Sequence[Decision]) -> bool:
        """Counted by the storm, and less severe than it: listed in the storm message."""
        return self.counts(decisions) and not self.keeps_own_message(decisions)

    def reason(self, count: int, source: str) -> str:
        return (
            f"storm: {count} alerts from {source} within {self.within:g}s "
            f"(at least {self.alerts}) -> {self.level}"
        )
