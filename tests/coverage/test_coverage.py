from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from router.cli import main
from router.coverage import load_rules
from tests.helpers import GOLDEN, ROOT, ROUTES, RUNBOOKS

FOLDER = GOLDEN / "coverage"
ARGS = ["--config", str(ROUTES), "--runbooks", str(RUNBOOKS)]
KUBE = str(FOLDER / "kube-prometheus.yaml")
APP = str(FOLDER / "app-rules.yaml")
DATADOG = str(FOLDER / "datadog-monitors.txt")
VENV_BIN = Path(sys.executable).parent


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


def test_report_summary_first_then_uncovered_by_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", KUBE, APP, "--datadog", DATADOG, *ARGS]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "coverage: 8/11 alert names reach a RUN- runbook (72.7%); 8/11 rules in 3 file(s)",
        "  severity  covered  uncovered",
        "  (none)          1          2",
        "  critical        1          1",
        "  warning         6          0",
        "uncovered (3):",
        f"  {APP}",
        "    17: PaymentsLedgerMismatch [critical] (group backend)",
        f"  {DATADOG}",
        "    2: Checkout p99 latency above 2s (group datadog monitors): covered only when "
        'service="checkout" (route datadog-checkout-latency -> RUN-007)',
        "    4: Billing heartbeat (group datadog monitors)",
        "claimed by a runbook's Alerts: line (1):",
        f"  {KUBE}",
        "    11: KubePodCrashLooping: RUN-006 lists KubePodCrashLooping",
    ]


def test_a_claimed_alert_is_covered_and_says_by_which_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Its route needs container=~"worker.*"; RUN-006's Alerts: line lists the name, and
    # comes before the outside runbook_url kube-prometheus gives every alert.
    main(["coverage", KUBE, "--format", "json", *ARGS])
    alerts = {a["alert"]: a for a in json.loads(capsys.readouterr().out)["alerts"]}
    crash = alerts["KubePodCrashLooping"]
    assert (crash["covered"], crash["runbooks"], crash["claimed_by"]) == (
        True,
        ["RUN-006"],
        ["RUN-006"],
    )
    assert crash["runbook_reasons"] == ["RUN-006 lists KubePodCrashLooping"]
    assert crash["outside_runbooks"] == []
    stuck = alerts["KubeDeploymentRolloutStuck"]
    assert (stuck["claimed_by"], stuck["runbook_reasons"]) == ([], ["route 'rollout-stuck'"])


def test_assumed_labels_and_the_minimum(capsys: pytest.CaptureFixture[str]) -> None:
    # The worker crash-loop route needs a container label that only the series carries.
    assert main(["coverage", KUBE, APP, "--assume", "container=worker", "--min", "75", *ARGS]) == 0
    assert (
        capsys.readouterr()
        .out.splitlines()[0]
        .startswith("coverage: 7/8 alert names reach a RUN- runbook (87.5%)")
    )
    assert main(["coverage", KUBE, APP, "--assume", "container=worker", "--min", "90", *ARGS]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "coverage failed: 7/8 alert names reach a runbook (87.5%), below --min 90%"
    ]


def test_runbook_url_naming_a_run_entry_counts(capsys: pytest.CaptureFixture[str]) -> None:
    main(["coverage", APP, "--format", "json", *ARGS])
    alerts = {a["alert"]: a for a in json.loads(capsys.readouterr().out)["alerts"]}
    assert alerts["CertificateRenewalFailing"]["runbooks"] == ["RUN-008"]
    assert alerts["DatabaseConnectionPoolHigh"]["runbooks"] == ["RUN-001"]
    assert alerts["PaymentsLedgerMismatch"]["covered"] is False


MIXED = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: prometheus-k8s, namespace: monitoring}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: node-exporter-rules, namespace: monitoring}
spec:
  groups:
    - name: node-exporter
      rules:
        - alert: NodeFilesystemSpaceFillingUp
          expr: predict_linear(node_filesystem_avail_bytes[6h], 24*3600) < 0
          labels: {severity: warning}
        - alert: NodeFilesystemSpaceFillingUp
          expr: predict_linear(node_filesystem_avail_bytes[6h], 4*3600) < 0
          labels: {severity: critical}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: kube-state-metrics}
spec: {template: {spec: {containers: [{name: ksm, image: ksm}]}}}
"""

LIST = """\
apiVersion: v1
kind: List
items:
  - apiVersion: monitoring.coreos.com/v1
    kind: PrometheusRule
    metadata: {name: a}
    spec:
      groups:
        - name: a
          rules:
            - {alert: KubePersistentVolumeFillingUp, expr: up == 0, labels: {severity: critical}}
  - apiVersion: monitoring.coreos.com/v1
    kind: PrometheusRule
    metadata: {name: b}
    spec:
      groups:
        - name: b
          rules:
            - {alert: Watchdog, expr: vector(1), labels: {severity: none}}
"""


def test_mixed_documents_skip_other_kinds_and_names_count_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kube-prometheus.yaml"
    path.write_text(MIXED, encoding="utf-8")
    rules = load_rules(path)
    assert [(r.name, r.severity) for r in rules] == [
        ("NodeFilesystemSpaceFillingUp", "warning"),
        ("NodeFilesystemSpaceFillingUp", "critical"),
    ]
    assert main(["coverage", str(path), "--format", "json", *ARGS]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["alert_names"] == {"covered": 1, "total": 1, "percent": 100.0}
    assert report["rules"] == {"covered": 2, "total": 2}
    assert report["by_severity"] == {
        "critical": {"covered": 1, "uncovered": 0},
        "warning": {"covered": 1, "uncovered": 0},
    }


def test_kind_list_as_kubectl_prints_it(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(LIST, encoding="utf-8")
    assert [r.name for r in load_rules(path)] == ["KubePersistentVolumeFillingUp", "Watchdog"]


def test_a_folder_is_read_recursively(tmp_path: Path) -> None:
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "list.yml").write_text(LIST, encoding="utf-8")
    (tmp_path / "mixed.yaml").write_text(MIXED, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not yaml: [", encoding="utf-8")
    names = [r.name for r in load_rules(tmp_path)]
    assert names == [
        "KubePersistentVolumeFillingUp",
        "Watchdog",
        *["NodeFilesystemSpaceFillingUp"] * 2,
    ]


def test_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(LIST))
    assert main(["coverage", "-", *ARGS]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "coverage: 1/1 alert names reach a RUN- runbook (100.0%); 1/1 rules in 1 file(s); "
        "1 never posted"
    )


def test_no_rules_is_an_error_never_100_percent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text("routes: []\n", encoding="utf-8")
    assert main(["coverage", str(path), "--min", "90", *ARGS]) == 1
    assert f"coverage: no alerting rules found in {path}" in capsys.readouterr().err
    assert main(["coverage", *ARGS]) == 1


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    rules = tmp_path / "many.yaml"
    rules.write_text(
        "groups:\n  - name: g\n    rules:\n"
        + "".join(f"      - {{alert: Unrouted{i}, expr: up == 0}}\n" for i in range(3000)),
        encoding="utf-8",
    )
    result = subprocess.run(
        f"{VENV_BIN}/runbook-router coverage {rules} {' '.join(ARGS)} | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.stdout.startswith("coverage: 0/3000 alert names")
    assert "Traceback" not in result.stderr
    assert "BrokenPipeError" not in result.stderr


def test_bad_assume(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", APP, "--assume", "nolabel", *ARGS]) == 2
