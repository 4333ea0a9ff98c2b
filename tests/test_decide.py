from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from router.decide import Ruleset, load_ruleset
from router.errors import ConfigError
from tests.helpers import RUNBOOKS, make_alert


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


# Claims: RUN-006's Alerts: line lists KubePodCrashLooping and KubeContainerWaiting,
# RUN-007's ExternalAPILatencyHigh; no route of ``rules`` names those alerts.


def test_route_runbook_wins_over_a_claim(rules: Ruleset) -> None:
    # RUN-001 lists DatabaseConnectionPoolHigh too, and RUN-006 lists the name below.
    (decision,) = rules.decide(make_alert("DatabaseConnectionPoolHigh"))
    assert decision.runbook is not None
    assert (decision.runbook.runbook_id, decision.runbook.reason) == ("RUN-001", "route 'db'")


def test_the_alerts_own_runbook_id_wins_over_a_claim(rules: Ruleset) -> None:
    (decision,) = rules.decide(
        make_alert("KubePodCrashLooping", team="payments", runbook_id="RUN-005")
    )
    assert decision.runbook is not None
    assert (decision.runbook.runbook_id, decision.runbook.origin) == ("RUN-005", "alert")


def test_claim_applies_to_a_route_without_runbook(rules: Ruleset) -> None:
    (decision,) = rules.decide(make_alert("KubePodCrashLooping", team="payments"))
    assert decision.route == "no-runbook"
    assert decision.runbook is not None
    assert decision.runbook.runbook_id == "RUN-006"
    assert decision.runbook.reason == "RUN-006 lists KubePodCrashLooping"
    assert decision.record().runbook_reason == "RUN-006 lists KubePodCrashLooping"


def test_claim_applies_with_the_defaults_and_before_an_outside_page(rules: Ruleset) -> None:
    url = "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubecontainerwaiting"
    alert = make_alert("KubeContainerWaiting", annotations={"runbook_url": url})
    (decision,) = rules.decide(alert)
    assert (decision.route, decision.channel) == (None, "#fallback")
    assert decision.runbook is not None
    assert (decision.runbook.runbook_id, decision.runbook.origin) == ("RUN-006", "claim")
    assert decision.runbook.url == "https://router.example.com/runbooks/RUN-006"


def test_unclaimed_name_is_unchanged(rules: Ruleset) -> None:
    (decision,) = rules.decide(make_alert("kubepodcrashlooping", severity="warning"))
    assert decision.runbook is None  # names are matched exactly, as Alertmanager does
    (decision,) = rules.decide(make_alert("Unclaimed", team="payments"))
    assert (decision.route, decision.runbook) == ("no-runbook", None)


def test_a_name_listed_by_two_entries_is_a_check_error_naming_both(tmp_path: Path) -> None:
    folder = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, folder)
    redis = folder / "RUN-015-redis-memory-high.md"
    original = (folder / "RUN-011-cloud-provider-outage.md").read_text(encoding="utf-8")
    redis.write_text(
        original.replace("RUN-011: Cloud Provider Outage", "RUN-015: Redis memory high"),
        encoding="utf-8",
    )
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes: []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_ruleset(routes, folder)
    line = next(i for i, text in enumerate(original.splitlines(), 1) if text.startswith("Alerts:"))
    first = f"{folder}/RUN-011-cloud-provider-outage.md:{line}"
    assert [str(p) for p in raised.value.problems] == [
        f"{redis}:{line}: Alerts: {name} is also listed by RUN-011 ({first});"
        " an alert name belongs to one entry"
        for name in ("ProbeFailureMultiRegion", "RedisDown", "CloudProviderIncident")
    ]
    # Served (not strict), the names are no one's: neither entry wins by load order.
    ruleset = load_ruleset(routes, folder, strict=False)
    assert len(ruleset.problems) == 3
    (decision,) = ruleset.decide(make_alert("RedisDown"))
    assert decision.runbook is None
    (decision,) = ruleset.decide(make_alert("SuspiciousLogin"))
    assert decision.runbook is not None
    assert decision.runbook.reason == "RUN-012 lists SuspiciousLogin"


def _routes(tmp_path: Path, runbook_url: str) -> Path:
    path = tmp_path / "routes.yaml"
    defaults = f'defaults: {{runbook_url: "{runbook_url}"}}\n' if runbook_url else ""
    path.write_text(
        defaults + "routes:\n  - matchers: ['alertname=\"X\"']\n    runbook: RUN-001\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("runbook_url", "public_url", "expected"),
    [
        ("{public_url}/runbooks/{id}", "http://127.0.0.1:9090", "http://127.0.0.1:9090/runbooks/RUN-001"),
        ("{public_url}/runbooks/{id}", "https://ops.example.com/router/", "https://ops.example.com/router/runbooks/RUN-001"),
        ("", "https://router.example.com", "https://router.example.com/runbooks/RUN-001"),
        # a runbook_url without {public_url} stays as written
        ("https://wiki.example.com/ops/{id}", "http://127.0.0.1:9090", "https://wiki.example.com/ops/RUN-001"),
    ],
)  # fmt: skip
def test_runbook_links_follow_the_public_url(
    tmp_path: Path, runbook_url: str, public_url: str, expected: str
) -> None:
    ruleset = load_ruleset(_routes(tmp_path, runbook_url), RUNBOOKS, public_url=public_url)
    (decision,) = ruleset.decide(make_alert("X"))
    assert decision.runbook is not None
    assert decision.runbook.url == expected
    assert ruleset.runbook_url("RUN-009") == expected.replace("RUN-001", "RUN-009")


def test_without_a_public_url_links_name_the_default_serve_address(tmp_path: Path) -> None:
    ruleset = load_ruleset(_routes(tmp_path, ""), RUNBOOKS)
    assert ruleset.runbook_url("RUN-001") == "http://127.0.0.1:8080/runbooks/RUN-001"


@pytest.mark.parametrize(
    ("runbook_url", "public_url", "pages"),
    [
        ("{public_url}/runbooks/{id}", None, "http://127.0.0.1:9090"),
        ("{public_url}/runbooks/{id}", "https://router.example.com/", "https://router.example.com"),
        # written before {public_url}: its address stands for the router's, unless set
        ("https://router.example.com/runbooks/{id}", None, "https://router.example.com"),
        ("https://router.example.com/runbooks/{id}", "https://ops.example.com", "https://ops.example.com"),
        # runbooks on a wiki: the router's own pages are still where it serves
        ("https://wiki.example.com/ops/{id}", None, "http://127.0.0.1:9090"),
    ],
)  # fmt: skip
def test_the_routers_own_pages_have_one_address(
    tmp_path: Path, runbook_url: str, public_url: str | None, pages: str
) -> None:
    ruleset = load_ruleset(
        _routes(tmp_path, runbook_url),
        RUNBOOKS,
        public_url=public_url,
        serving_at="http://127.0.0.1:9090",
    )
    assert ruleset.pages_url == pages
