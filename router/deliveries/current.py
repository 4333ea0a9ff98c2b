"""The ruleset in force, and what delivery draws from it; a reload swaps it whole.

Built once at start-up and handed to the handlers (and the Runtime), so a delivery
reads the routes, runbooks and levels of now without going back to the composition
root: ``ruleset`` for the current load, ``renderer`` for Slack messages drawn with
it, ``alertmanagers`` for the Alertmanager APIs it names. ``swap`` is the reload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from router.alertmanagers import Alertmanagers
from router.config import Level, LevelName, OnCallEntry, RoutesFile
from router.decide import Ruleset
from router.oncall import in_words, references
from router.oncall.lookup import OnCall
from router.render.message import MessageRenderer


class Current:
    """The current ruleset, and the renderer and Alertmanagers of it."""

    def __init__(
        self,
        ruleset: Ruleset,
        alertmanagers_for: Callable[[RoutesFile], Alertmanagers],
        *,
        pagerduty_ack: bool = False,
    ) -> None:
        self._ruleset = ruleset
        self._alertmanagers_for = alertmanagers_for
        """Builds the Alertmanager APIs of a routes file (and of ``ALERTMANAGER_URL``)."""
        self.pagerduty_ack = pagerduty_ack
        """PagerDuty's REST API is configured: messages offer Acknowledge."""
        self.oncall: OnCall | None = None
        """Who is on call, for ``oncall:NAME`` in mentions (set once it is built on this)."""
        self._alertmanagers: tuple[object, Alertmanagers] | None = None

    def ruleset(self) -> Ruleset:
        """The ruleset in force now."""
        return self._ruleset

    def swap(self, ruleset: Ruleset) -> None:
        """A reload: from now on, ``ruleset`` is the one in force."""
        self._ruleset = ruleset

    def oncall_entries(self) -> Mapping[str, OnCallEntry]:
        """The ``oncall:`` entries of the current routes."""
        return self._ruleset.config.data.oncall

    def alertmanagers(self) -> Alertmanagers:
        """The Alertmanager APIs (``ALERTMANAGER_URL`` and ``alertmanagers:``), built again
        after a reload that changes ``alertmanagers:``."""
        data = self._ruleset.config.data
        cached = self._alertmanagers
        if cached is None or cached[0] != data.alertmanagers:  # kept over reloads that keep it
            built = self._alertmanagers_for(data)
            self._alertmanagers = cached = (data.alertmanagers, built)
        return cached[1]

    def renderer(self, *, wait: float | None = None) -> MessageRenderer:
        """Messages as the current load draws them. Who is on call with the lookups' own
        wait (``wait=None``, delivery's); pages pass ``wait=0.0``: as cached."""
        return renderer_for(
            self._ruleset,
            pagerduty_ack=self.pagerduty_ack,
            alertmanagers=self.alertmanagers(),
            oncall=self.oncall,
            wait=wait,
        )


def renderer_for(
    ruleset: Ruleset,
    *,
    pagerduty_ack: bool = False,
    alertmanagers: Alertmanagers | None = None,
    oncall: OnCall | None = None,
    wait: float | None = None,
) -> MessageRenderer:
    """Slack messages drawn with one load's runbooks and levels (the service, ``preview``).

    A level's ``mention`` of ``oncall:NAME`` is the person on call as the message is
    drawn (in words where nobody can be looked up, as in ``preview``).
    """
    data = ruleset.config.data
    return MessageRenderer(
        ruleset.catalog,
        levels_now(data.severity.levels, oncall, wait),
        data.defaults.stale_after_days,
        pagerduty_ack=pagerduty_ack,
        identity_labels=data.defaults.identity_labels,
        pages_url=ruleset.pages_url,
        alertmanagers=alertmanagers,
    )


def levels_now(
    levels: Mapping[LevelName, Level], oncall: OnCall | None, wait: float | None = None
) -> dict[LevelName, Level]:
    """The levels, each ``oncall:NAME`` in a ``mention`` the person on call now."""
    named = {name: level for name, level in levels.items() if references(level.mention)}
    if not named:
        return dict(levels)
    texts = [level.mention for level in named.values()]
    words = [in_words(t) for t in texts]
    shown = oncall.resolve(texts, wait=wait) if oncall is not None else words
    now = {
        n: lv.model_copy(update={"mention": m})
        for (n, lv), m in zip(named.items(), shown, strict=True)
    }
    return {**levels, **now}
