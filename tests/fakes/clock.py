"""A clock the test moves: the store, dispatcher and renderer take it for router.clock.Clock."""

from __future__ import annotations


class FakeClock:
    def __init__(self, now: float = 1_795_320_000.0) -> None:  # 2026-11-22 01:20 UTC
        self.t = now

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds
