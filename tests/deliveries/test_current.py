"""The ruleset in force, as the handlers read it, swapped by a reload."""

from __future__ import annotations

from pathlib import Path

from router.alertmanagers import Alertmanagers
from router.app import build_runtime
from router.config import RoutesFile
from router.decide import Ruleset, load_ruleset
from router.deliveries.current import Current
from tests.helpers import ROUTES, RUNBOOKS, settings


def test_a_reload_swaps_the_ruleset_the_handlers_read(tmp_path: Path) -> None:
    rt, _ = build_runtime(settings(tmp_path))
    before = rt.current.ruleset()
    assert rt.ruleset is before
    rt.reload()
    assert rt.current.ruleset() is not before
    assert rt.ruleset is rt.current.ruleset()
    assert rt.renderer().runbooks is rt.current.ruleset().catalog
    rt.store.engine.dispose()


def test_the_renderer_is_drawn_with_the_ruleset_in_force(ruleset: Ruleset) -> None:
    current = Current(ruleset, lambda _data: Alertmanagers([]), pagerduty_ack=True)
    assert current.renderer().runbooks is ruleset.catalog
    assert current.renderer().pagerduty_ack
    later = load_ruleset(ROUTES, RUNBOOKS)
    current.swap(later)
    assert current.renderer().runbooks is later.catalog
    assert current.oncall_entries() == later.config.data.oncall


def test_alertmanagers_are_built_again_only_when_alertmanagers_changes(ruleset: Ruleset) -> None:
    built: list[RoutesFile] = []

    def build(data: RoutesFile) -> Alertmanagers:
        built.append(data)
        return Alertmanagers([])

    current = Current(ruleset, build)
    first = current.alertmanagers()
    assert current.alertmanagers() is first
    current.swap(load_ruleset(ROUTES, RUNBOOKS))  # the same alertmanagers: (none)
    assert current.alertmanagers() is first
    assert len(built) == 1
