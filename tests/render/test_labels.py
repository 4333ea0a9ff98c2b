"""Which labels say what an alert is about; real label sets as kube-prometheus sends them."""

from __future__ import annotations

from router.config import IDENTITY_LABELS
from router.render.labels import common, exporter_labels, shown, telling_apart

# KubeDeploymentRolloutStuck from kube-state-metrics: the exporter's own target labels
# (container, pod, service, job) ride along with the deployment the alert is about.
ROLLOUT_STUCK = {
    "alertname": "KubeDeploymentRolloutStuck",
    "container": "kube-state-metrics",
    "deployment": "checkout",
    "endpoint": "http",
    "instance": "10.2.1.7:8080",
    "job": "kube-state-metrics",
    "namespace": "payments",
    "pod": "kube-state-metrics-6d4c9b7f5-x2k8q",
    "prometheus": "monitoring/k8s",
    "service": "kube-state-metrics",
    "severity": "warning",
}
# KubePodCrashLooping of the exporter's own pod: nothing else to be about.
OWN_CRASH = {
    "alertname": "KubePodCrashLooping",
    "container": "kube-state-metrics",
    "job": "kube-state-metrics",
    "namespace": "monitoring",
    "pod": "kube-state-metrics-6d4c9b7f5-x2k8q",
    "severity": "warning",
}


def test_the_exporter_s_own_labels_are_left_out() -> None:
    assert exporter_labels(ROLLOUT_STUCK) == {"container", "pod", "service", "job"}
    assert shown(ROLLOUT_STUCK, IDENTITY_LABELS) == ["namespace", "instance", "deployment"]


def test_an_exporter_about_itself_keeps_its_labels() -> None:
    assert exporter_labels(OWN_CRASH) == set()
    assert shown(OWN_CRASH, IDENTITY_LABELS) == ["namespace", "job", "pod", "container"]


def test_labels_outside_the_identity_list_are_shown_after_it() -> None:
    labels = {"alertname": "QueueDepthHigh", "queue": "emails", "env": "prod", "severity": "x"}
    assert shown(labels, IDENTITY_LABELS) == ["env", "queue"]


def test_common_and_telling_apart() -> None:
    a = {"alertname": "X", "env": "prod", "instance": "a:1", "certificate": "api-tls"}
    b = {"alertname": "X", "env": "prod", "instance": "b:1", "certificate": "web-tls"}
    assert common([a, b], IDENTITY_LABELS) == ["env"]
    assert telling_apart([a, b], IDENTITY_LABELS) == ["instance", "certificate"]
    assert telling_apart([a, {**b, "extra": "1"}], IDENTITY_LABELS) == [
        "instance",
        "certificate",
        "extra",
    ]
