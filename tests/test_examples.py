"""The shipped examples (``routes.yaml``, ``runbooks/``) as a user gets them.

Other tests use their own copies in tests/fixtures/config, so the examples can
change freely; these only hold the examples to the gates a user's CI would run.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from router.cli import main
from router.config_values import parse_duration
from router.decide import load_ruleset
from router.matchers import parse_matchers
from tests.conftest import ROOT, make_alert

EXAMPLES = ["--config", str(ROOT / "routes.yaml"), "--runbooks", str(ROOT / "runbooks")]


def test_shipped_examples_pass_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *EXAMPLES]) == 0
    assert "error" not in capsys.readouterr().err.lower()


def test_shipped_runbooks_pass_lint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(ROOT / "runbooks"), "--config", str(ROOT / "routes.yaml")]) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert " 0 error(s)" in summary


# Alertmanager's own defaults for a route that sets none (config/config.go).
AM_TIMES = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


def alertmanager_route(route: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """The options of the route these labels end on in an alertmanager.yml tree.

    As dispatch/route.go matches: the first child whose matchers all match, deeper
    routes inheriting what they do not set. Only the ``matchers:`` form is read.
    """
    options = {**AM_TIMES, **{key: route[key] for key in ("receiver", *AM_TIMES) if key in route}}
    for child in route.get("routes", []):
        assert not {"match", "match_re", "continue"} & child.keys(), "the examples use matchers:"
        if all(
            m.matches(labels) for text in child.get("matchers", []) for m in parse_matchers(text)
        ):
            return options | alertmanager_route(child, labels)
    return options


def test_alertmanager_example_sends_watchdog_more_often_than_the_heartbeat() -> None:
    """The shipped heartbeat raises no alarm while the shipped Alertmanager works.

    Alertmanager re-sends an unchanged group only on a group_interval tick once
    repeat_interval has passed since the last send: copies come up to
    repeat_interval + group_interval apart. The heartbeat must outlast two such
    gaps, so that one lost copy (a router restart, a failed POST) is no alarm.
    """
    am = yaml.safe_load((ROOT / "deploy/alertmanager-example.yml").read_text("utf-8"))
    watchdog = {"alertname": "Watchdog", "severity": "none"}  # as kube-prometheus fires it
    options = alertmanager_route(am["route"], watchdog)
    (receiver,) = [r for r in am["receivers"] if r["name"] == options["receiver"]]
    assert receiver["webhook_configs"][0]["url"].endswith("/webhooks/alertmanager")
    gap = parse_duration(options["repeat_interval"]) + parse_duration(options["group_interval"])

    ruleset = load_ruleset(ROOT / "routes.yaml", ROOT / "runbooks")
    (decision,) = ruleset.decide(make_alert("Watchdog", severity="none"))
    route = ruleset.table.find(decision.route or "")
    assert route is not None
    assert route.heartbeat is not None, "the heartbeat is on"
    assert route.channel, "the alarm goes to a channel of its own"
    assert not decision.notify, "Watchdog itself is never posted"
    assert route.heartbeat > 2 * gap, (
        f"heartbeat {route.heartbeat:.0f}s must exceed twice Alertmanager's longest gap "
        f"between Watchdog copies ({options['repeat_interval']} + "
        f"{options['group_interval']} = {gap:.0f}s)"
    )
