"""The image definition and the Kubernetes manifests, checked offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, require_binary

VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = VENV_BIN / name
    if path.exists():
        return str(path)
    return require_binary(name)


def render(folder: str) -> list[dict[str, Any]]:
    kubectl = require_binary("kubectl")
    out = subprocess.run(
        [kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(ROOT / folder)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_hadolint_clean_at_warning_level() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("folder", ["deploy/k8s", "deploy/overlays/postgres"])
def test_manifests_validate_strictly(folder: str, tmp_path: Path) -> None:
    documents = render(folder)
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(documents))
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "-k", "1.32.0", str(rendered)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The only kind without a built-in schema is the ServiceMonitor CRD.
    warnings = [line for line in output.splitlines() if line.startswith(("WARN", "ERROR"))]
    assert all("ServiceMonitor" in w for w in warnings), warnings


def test_secret_template_validates(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            tool("kubernetes-validate"),
            "--strict",
            "-k",
            "1.32.0",
            str(ROOT / "deploy/k8s/secret.example.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def by_kind(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in documents}


def test_deployment_is_hardened_and_probed() -> None:
    kinds = by_kind(render("deploy/k8s"))
    deployment = kinds["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    assert {"PodDisruptionBudget", "NetworkPolicy", "Service", "ServiceMonitor"} <= set(kinds)
    monitor, service = kinds["ServiceMonitor"], kinds["Service"]
    labels = service["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]


def test_every_runbook_is_in_the_configmap() -> None:
    configmaps = [d for d in render("deploy/k8s") if d["kind"] == "ConfigMap"]
    runbooks = next(c for c in configmaps if c["metadata"]["name"] == "runbook-router-runbooks")
    shipped = sorted(p.name for p in (ROOT / "runbooks").glob("*.md"))
    assert sorted(runbooks["data"]) == shipped, "list new runbooks in deploy/k8s/kustomization.yaml"
    routes = next(c for c in configmaps if c["metadata"]["name"] == "runbook-router-routes")
    assert routes["data"]["routes.yaml"] == (ROOT / "routes.yaml").read_text()


def test_overlay_adds_postgres() -> None:
    kinds = by_kind(render("deploy/overlays/postgres"))
    assert kinds["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "postgres:15"
    )


def test_alertmanager_example_passes_amtool() -> None:
    amtool = require_binary("amtool")
    result = subprocess.run(
        [amtool, "check-config", str(ROOT / "deploy/alertmanager-example.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((ROOT / "deploy/alertmanager-example.yml").read_text())
    (hook,) = config["receivers"][0]["webhook_configs"]
    assert hook["send_resolved"] is True
    assert hook["url"].endswith("/webhooks/alertmanager")
    assert hook["http_config"]["authorization"]["type"] == "Bearer"
