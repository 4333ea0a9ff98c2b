from __future__ import annotations

from pathlib import Path

import pytest

from router.decide import Ruleset, load_ruleset
from tests.conftest import RUNBOOKS, make_alert


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Ruleset:
    path: Path = tmp_path_factory.mktemp("cfg") / "routes.yaml"
    path.write_text(
        """
defaults: {channel: "#fallback", runbook_url: "https://router.example.com/runbooks/{id}"}
routes:
  - name: db
    matchers: ['alertname="DatabaseConnectionPoolHigh"']
    runbook: RUN-001
    channel: "#db"
    severity: SEV1
  - name: no-runbook
    matchers: ['team="payments"']
    channel: "#payments"
""",
        encoding="utf-8",
    )
    return load_ruleset(path, RUNBOOKS)


def test_route_runbook_comes_first(rules: Ruleset) -> None:
    alert = make_alert(annotations={"runbook_url": "https://wiki.example.com/RUN-005"})
    (decision,) = rules.decide(alert)
    assert decision.runbook is not None
    assert decision.runbook.runbook is not None
    assert decision.runbook.runbook.id == "RUN-001"
    assert decision.runbook.url == "https://router.example.com/runbooks/RUN-001"
    assert decision.runbook.reason == "route 'db'"
    assert (decision.route, decision.channel, decision.severity.level) == ("db", "#db", "SEV1")


@pytest.mark.parametrize(
    ("labels", "annotations", "expected", "reason"),
    [
        ({"runbook_id": "run-5"}, {}, "RUN-005", "runbook_id label"),
        ({}, {"runbook_id": "RUN-006"}, "RUN-006", "runbook_id annotation"),
        (
            {},
            {"runbook_url": "https://wiki.example.com/ops/RUN-007-timeouts"},
            "RUN-007",
            "runbook_url names it",
        ),
        # an unknown id falls through to the URL as an outside page
        (
            {"runbook_id": "RUN-999"},
            {"runbook_url": "https://wiki.example.com/x"},
            None,
            "runbook_url annotation (outside page)",
        ),
    ],
)
def test_alert_supplied_runbook(
    rules: Ruleset,
    labels: dict[str, str],
    annotations: dict[str, str],
    expected: str | None,
    reason: str,
) -> None:
    (decision,) = rules.decide(
        make_alert("Other", team="payments", annotations=annotations, **labels)
    )
    assert decision.route == "no-runbook"
    assert decision.runbook is not None
    assert (decision.runbook.runbook.id if decision.runbook.runbook else None) == expected
    assert decision.runbook.reason == reason


def test_outside_runbook_is_linked_as_is(rules: Ruleset) -> None:
    url = "https://runbooks.prometheus-operator.dev/runbooks/general/targetdown"
    (decision,) = rules.decide(make_alert("TargetDown", annotations={"runbook_url": url}))
    assert decision.runbook is not None
    assert decision.runbook.url == url
    assert decision.record().runbook is None


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x/y", "not a url", ""])
def test_non_web_runbook_url_is_not_linked(rules: Ruleset, url: str) -> None:
    (decision,) = rules.decide(make_alert("TargetDown", annotations={"runbook_url": url}))
    assert decision.runbook is None
    assert decision.record().runbook_reason == "no runbook: unmatched"


def test_unrouted_alert_goes_to_the_default_channel(rules: Ruleset) -> None:
    (decision,) = rules.decide(make_alert("Unknown", severity="warning"))
    assert (decision.route, decision.channel, decision.runbook) == (None, "#fallback", None)
