"""What each runbook step came to, from the ticks on the message's timeline.

A step's time is the time since the previous step: from the tick before it on
another step, or from when the checklist was posted. The latest tick of a step
is what it came to (someone may correct a *Done* to *Didn't work*). Pure: the
checklist in Slack, the timeline, the postmortem and the review all read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from router.render.blocks import duration
from router.store import MessageEvent
from router.store.events import (
    CHECKLIST,
    DID_NOT_HELP,
    HELPED,
    STEP_DONE,
    STEP_FAILED,
    STEP_SKIPPED,
    STEP_WRONG,
    TICKS,
)

MARKS: dict[str, tuple[str, str]] = {
    STEP_DONE: ("✅", "done"),
    STEP_SKIPPED: ("⏭️", "skipped"),
    STEP_FAILED: ("⚠️", "didn't work"),
}
"""Each tick's mark and word."""


@dataclass(frozen=True)
class Tick:
    step: int
    title: str
    kind: str
    at: float
    who: str | None
    note: str | None
    took: float
    """Since the previous step (or the checklist's posting)."""
    first: bool
    """No step was ticked before it: ``took`` counts from the checklist."""
    event: int = 0
    """Its event's id."""

    @property
    def word(self) -> str:
        return MARKS[self.kind][1]

    @property
    def mark(self) -> str:
        return MARKS[self.kind][0]


@dataclass(frozen=True)
class StepState:
    number: int
    title: str
    tick: Tick | None
    """Its latest tick; None: not ticked."""


def checklist_start(events: Sequence[MessageEvent]) -> float | None:
    """When the checklist was posted, if it was."""
    return next((e.at for e in events if e.kind == CHECKLIST), None)


def ticks(events: Sequence[MessageEvent], started: float | None = None) -> list[Tick]:
    """Every tick, oldest first, with the time each step took."""
    start = started if started is not None else checklist_start(events)
    out: list[Tick] = []
    for event in sorted((e for e in events if e.kind in TICKS), key=lambda e: (e.at, e.id)):
        step = event.step or 0
        before = [t for t in out if t.step != step]
        since = before[-1].at if before else start
        out.append(
            Tick(
                step=step,
                title=event.detail or "",
                kind=event.kind,
                at=event.at,
                who=event.who,
                note=event.note,
                took=max(0.0, event.at - since) if since is not None else 0.0,
                first=not before,
                event=event.id,
            )
        )
    return out


def states(
    steps: Iterable[tuple[int, str]], events: Sequence[MessageEvent], started: float | None = None
) -> list[StepState]:
    """Each step (number, title) with its latest tick."""
    latest = {t.step: t for t in ticks(events, started)}
    return [StepState(number, title, latest.get(number)) for number, title in steps]


def learned_text(event: MessageEvent, runbook_id: str | None, tick: Tick | None = None) -> str:
    """A tick, a vote or a step report as a timeline line (plain text)."""
    runbook = runbook_id or "the runbook"
    if tick is not None:
        text = f"step {tick.step} {tick.word}: {tick.title}"
        since = "the checklist was posted" if tick.first else "the previous step"
        text += f" ({duration(tick.took)} after {since})"
        return text + (f": {tick.note}" if tick.note else "")
    if event.kind == CHECKLIST:
        return f"{event.detail or runbook} checklist posted in the thread"
    if event.kind == HELPED:
        return f"{runbook} helped (👍)"
    if event.kind == DID_NOT_HELP:
        return f"{runbook} did not help (👎)"
    if event.kind == STEP_WRONG:
        return f"step {event.step} of {runbook} was wrong: {event.detail or ''}: {event.note or ''}"
    return event.kind
