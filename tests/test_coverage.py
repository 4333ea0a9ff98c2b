from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.cli import main
from router.coverage import load_rules
from router.errors import ConfigError
from tests.conftest import GOLDEN, ROOT

FOLDER = GOLDEN / "coverage"
ARGS = ["--config", str(ROOT / "routes.yaml"), "--runbooks", str(ROOT / "runbooks")]
KUBE = str(FOLDER / "kube-prometheus.yaml")
APP = str(FOLDER / "app-rules.yaml")
DATADOG = str(FOLDER / "datadog-monitors.txt")


def test_rule_files_and_manifests_are_read_with_lines() -> None:
    rules = load_rules(KUBE) + load_rules(APP)
    assert [(r.name, r.line, r.group) for r in rules] == [
        ("KubePodCrashLooping", 11, "kubernetes-apps"),
        ("KubeDeploymentRolloutStuck", 20, "kubernetes-apps"),
        ("NodeFilesystemAlmostOutOfSpace", 40, "node-exporter"),
        ("KubeNodeNotReady", 48, "node-exporter"),
        ("DatabaseConnectionPoolHigh", 4, "backend"),
        ("QueueDepthHigh", 9, "backend"),
        ("CertificateRenewalFailing", 13, "backend"),
        ("PaymentsLedgerMismatch", 17, "backend"),
    ]  # recording rules are not alerts
    assert rules[0].labels == {"severity": "warning"}
    assert rules[6].annotations == {"runbook_url": "https://router.example.com/runbooks/RUN-008"}


def test_report_lists_every_uncovered_alert(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", KUBE, APP, "--datadog", DATADOG, *ARGS]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{KUBE}:11: KubePodCrashLooping (group kubernetes-apps): no route to a RUN- runbook; "
        "links outside runbook https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
        f"{APP}:17: PaymentsLedgerMismatch (group backend): no route to a RUN- runbook",
        f"{DATADOG}:2: Checkout p99 latency above 2s (group datadog monitors): no route to a RUN- runbook",
        f"{DATADOG}:4: Billing heartbeat (group datadog monitors): no route to a RUN- runbook",
        "coverage: 7/11 alerts reach a RUN- runbook (63.6%)",
    ]


def test_assumed_labels_and_the_minimum(capsys: pytest.CaptureFixture[str]) -> None:
    # The worker crash-loop route needs a container label that only the series carries.
    assert main(["coverage", KUBE, APP, "--assume", "container=worker", "--min", "75", *ARGS]) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1]
        == "coverage: 7/8 alerts reach a RUN- runbook (87.5%)"
    )
    assert main(["coverage", KUBE, APP, "--assume", "container=worker", "--min", "90", *ARGS]) == 1


def test_runbook_url_naming_a_run_entry_counts(capsys: pytest.CaptureFixture[str]) -> None:
    main(["coverage", APP, "--format", "json", *ARGS])
    alerts = {a["alert"]: a for a in json.loads(capsys.readouterr().out)["alerts"]}
    assert alerts["CertificateRenewalFailing"]["runbooks"] == ["RUN-008"]
    assert alerts["DatabaseConnectionPoolHigh"]["runbooks"] == ["RUN-001"]
    assert alerts["PaymentsLedgerMismatch"]["covered"] is False


def test_not_a_rule_file(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text("routes: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"routes.yaml:1: groups: not a Prometheus rule file"):
        load_rules(path)


def test_bad_assume(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", APP, "--assume", "nolabel", *ARGS]) == 2
