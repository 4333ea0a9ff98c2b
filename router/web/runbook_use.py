"""The runbook pages' use: what ``/runbooks/RUN-001`` shows of it, and ``/runbooks?sort=``.

Read off the event loop (the callers use a thread). A database that does not
answer costs the page its use, never the page: the runbook is still shown.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from router.clock import Clock
from router.errors import StoreUnavailable
from router.notifiers.directory import SlackDirectory
from router.records import RunbookSummary
from router.render.incident.timeline import who_text
from router.review.use import DAY, WINDOWS, Use, use_of
from router.store import UseFacts

log = logging.getLogger("router")

SORTS = ("category", "last_used", "negative")
"""``/runbooks?sort=``: by category (the default), last used first, most negative first."""


class UseReads(Protocol):
    """What the runbook pages read of the runbooks' use (the store implements it)."""

    def use_facts(self, since: float, runbook_id: str | None = None) -> UseFacts: ...

    def last_used(self, runbook_ids: Sequence[str] | None = None) -> dict[str, float]: ...


class UseService(Protocol):
    """What of the running service the use reads (the runtime has it)."""

    @property
    def store(self) -> UseReads: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def directory(self) -> SlackDirectory | None: ...


def runbook_use(rt: UseService, runbook_id: str) -> Use | None:
    """The runbook's use in the page's windows (30 and 90 days); None if the store is down."""
    now = rt.clock.now()
    try:
        facts = rt.store.use_facts(now - max(WINDOWS) * DAY, runbook_id)
        last = rt.store.last_used([runbook_id]).get(runbook_id)
    except StoreUnavailable as exc:
        log.warning("runbook page without its use: %s", exc)
        return None
    return use_of(runbook_id, facts.messages, facts.said, now, last_used=last)


def all_use(rt: UseService, runbook_ids: Sequence[str]) -> dict[str, Use] | None:
    now = rt.clock.now()
    try:
        facts = rt.store.use_facts(now - max(WINDOWS) * DAY)
        last = rt.store.last_used()
    except StoreUnavailable as exc:
        log.warning("runbooks in their plain order: %s", exc)
        return None
    return {
        rid: use_of(rid, facts.messages, facts.said, now, last_used=last.get(rid))
        for rid in runbook_ids
    }


def sorted_by(
    entries: list[RunbookSummary], uses: dict[str, Use], sort: str
) -> list[RunbookSummary]:
    """Last used first (never used last), or most 👎 and steps reported wrong first."""
    if sort == "last_used":
        return sorted(entries, key=lambda e: -(uses[e.id].last_used or 0.0))
    return sorted(
        entries,
        key=lambda e: (-uses[e.id].feedback.negative, -(uses[e.id].last_used or 0.0)),
    )


def people(rt: UseService, use: Use) -> dict[str, str]:
    """Who said what, by the names Slack gives them (as far as it answers in time)."""
    who = [n.who for n in [*use.failed_steps, *use.steps_wrong] if n.who]
    names = rt.directory.known(who).names if rt.directory is not None and who else {}
    return {w: who_text(w, slack=False, names=names) for w in who}
