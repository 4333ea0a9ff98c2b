"""The shipped examples (``routes.yaml``, ``runbooks/``) as a user gets them.

Other tests use their own copies in tests/fixtures/config, so the examples can
change freely; these hold the examples to the gates a user's CI would run and to
what they promise a newcomer: Watchdog reaches the router more often than its
heartbeat expects, and kube-prometheus's common alerts land on incident runbooks
whose commands their labels fill.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from router.cli import main
from router.config_values import parse_duration
from router.decide import Decision, Ruleset, load_ruleset
from router.demo import SAMPLES
from router.matchers import parse_matchers
from router.runbooks import Runbook, placeholders
from tests.helpers import ROOT, make_alert

EXAMPLES = ["--config", str(ROOT / "routes.yaml"), "--runbooks", str(ROOT / "runbooks")]


@pytest.fixture(scope="module")
def shipped() -> Ruleset:
    return load_ruleset(ROOT / "routes.yaml", ROOT / "runbooks")


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


def test_alertmanager_example_sends_watchdog_more_often_than_the_heartbeat(
    shipped: Ruleset,
) -> None:
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

    (decision,) = shipped.decide(make_alert("Watchdog", severity="none"))
    route = shipped.table.find(decision.route or "")
    assert route is not None
    assert route.heartbeat is not None, "the heartbeat is on"
    assert route.channel, "the alarm goes to a channel of its own"
    assert not decision.notify, "Watchdog itself is never posted"
    assert route.heartbeat > 2 * gap, (
        f"heartbeat {route.heartbeat:.0f}s must exceed twice Alertmanager's longest gap "
        f"between Watchdog copies ({options['repeat_interval']} + "
        f"{options['group_interval']} = {gap:.0f}s)"
    )


# kube-prometheus's most common alerts, each with the labels its rule and scrape
# config give it (kube-prometheus manifests: the rules' `by` and `for`, the
# ServiceMonitors' relabelings: node-exporter's instance is the node's name,
# kube-state-metrics drops its own namespace/pod, the kubelet adds node).
NODE = "ip-10-0-3-17.eu-west-1.compute.internal"
KSM = {
    "job": "kube-state-metrics",
    "instance": "10.0.2.15:8443",
    "container": "kube-rbac-proxy-main",
}
NODE_EXPORTER = {
    "job": "node-exporter", "instance": NODE, "namespace": "monitoring",
    "pod": "node-exporter-8xk2p", "service": "node-exporter", "container": "kube-rbac-proxy",
    "device": "/dev/nvme0n1p1", "fstype": "xfs", "mountpoint": "/",
}  # fmt: skip
KUBELET = {
    "job": "kubelet", "instance": "10.0.3.17:10250", "node": NODE, "service": "kubelet",
    "metrics_path": "/metrics", "namespace": "data", "persistentvolumeclaim": "data-postgres-0",
}  # fmt: skip
KUBE_PROMETHEUS = [
    ("KubeNodeNotReady", {"severity": "warning", **KSM, "node": NODE, "condition": "Ready",
                          "status": "true"}, "nodes", "RUN-015"),
    ("KubePodCrashLooping", {"severity": "warning", **KSM, "namespace": "checkout",
                             "pod": "checkout-api-7d9c6b5f4-x2kqp", "container": "api",
                             "reason": "CrashLoopBackOff"}, "pod-crashloop", "RUN-016"),
    ("KubePodCrashLooping", {"severity": "warning", **KSM, "namespace": "data",
                             "pod": "worker-5f7d8c9b6-q8r4t", "container": "worker",
                             "reason": "CrashLoopBackOff"}, "worker-crashloop", "RUN-006"),
    ("NodeFilesystemAlmostOutOfSpace", {"severity": "warning", **NODE_EXPORTER},
     "node-disk", "RUN-013"),
    ("NodeFilesystemAlmostOutOfSpace", {"severity": "critical", **NODE_EXPORTER},
     "node-disk", "RUN-013"),
    ("KubePersistentVolumeFillingUp", {"severity": "critical", **KUBELET}, "volumes", "RUN-014"),
    ("KubePersistentVolumeFillingUp", {"severity": "warning", **KUBELET}, "volumes", "RUN-014"),
    ("KubeDeploymentRolloutStuck", {"severity": "warning", **KSM, "namespace": "checkout",
                                    "deployment": "checkout-api", "condition": "Progressing",
                                    "status": "false"}, "rollout-stuck", "RUN-019"),
    ("TargetDown", {"severity": "warning", "job": "checkout-api", "namespace": "checkout",
                    "service": "checkout-api"}, "scrape-targets", "RUN-017"),
    ("KubeAPIDown", {"severity": "critical", "job": "apiserver"}, "kube-api", "RUN-018"),
]  # fmt: skip


def routed(ruleset: Ruleset, name: str, labels: dict[str, str]) -> Decision:
    # make_alert's own `status` would take kube-state-metrics' status label: set them after.
    alert = make_alert(name, severity=labels["severity"]).model_copy(
        update={"labels": {"alertname": name, **labels}}
    )
    (decision,) = ruleset.decide(alert)
    return decision


def unfilled(entry: Runbook, labels: dict[str, str]) -> dict[str, list[str]]:
    """Per step, the placeholders an alert with these labels leaves unfilled."""
    left: dict[str, list[str]] = {}
    for step in entry.steps:
        for text in (step.title, *step.text, *(c.code for c in step.commands)):
            if names := placeholders.names(placeholders.fill(text, labels)):
                left.setdefault(f"{entry.id} step {step.number}", []).extend(names)
    return left


@pytest.mark.parametrize(
    ("name", "labels", "route", "runbook"),
    KUBE_PROMETHEUS,
    ids=[f"{n}-{labels['severity']}-{r}" for n, labels, r, _ in KUBE_PROMETHEUS],
)
def test_kube_prometheus_alerts_get_incident_runbooks_filled_from_their_labels(
    shipped: Ruleset, name: str, labels: dict[str, str], route: str, runbook: str
) -> None:
    decision = routed(shipped, name, labels)
    assert decision.route == route
    assert decision.runbook is not None
    assert decision.runbook.runbook_id == runbook
    entry = decision.runbook.runbook
    assert entry is not None
    assert entry.category != "Maintenance", f"{runbook} is planned work, not for an outage"
    assert unfilled(entry, {"alertname": name, **labels}) == {}


# Other alerts of the examples, with the labels their exporters give them.
OTHERS = [
    ("NodeRebootRequired", {"severity": "warning", "job": "node-exporter", "instance": NODE}),
    ("CertManagerCertNotReady", {"severity": "critical", "name": "api-tls",
                                 "exported_namespace": "production", "namespace": "cert-manager",
                                 "condition": "False"}),
    *[(s["alertname"], {k: v for k, v in s.items() if k not in ("alertname", "summary")})
      for s in SAMPLES],  # what `runbook-router demo` sends a newcomer's router
]  # fmt: skip


@pytest.mark.parametrize(("name", "labels"), OTHERS, ids=[n for n, _ in OTHERS])
def test_example_alerts_fill_every_placeholder_of_their_runbook(
    shipped: Ruleset, name: str, labels: dict[str, str]
) -> None:
    decision = routed(shipped, name, labels)
    assert decision.runbook is not None
    assert decision.runbook.runbook is not None
    assert unfilled(decision.runbook.runbook, {"alertname": name, **labels}) == {}


def test_each_alert_name_is_claimed_by_one_runbook_at_most(shipped: Ruleset) -> None:
    claimed: dict[str, list[str]] = {}
    for entry in shipped.catalog:
        for name in entry.alerts:
            claimed.setdefault(name, []).append(entry.id)
    assert {name: ids for name, ids in claimed.items() if len(ids) > 1} == {}


@pytest.mark.parametrize("path", sorted((ROOT / "runbooks").glob("*.md")), ids=lambda p: p.name)
def test_shipped_runbooks_have_no_malformed_placeholders(path: Path) -> None:
    assert placeholders.malformed(path.read_text("utf-8")) == []
