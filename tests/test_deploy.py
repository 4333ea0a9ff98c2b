"""The image definition and the Kubernetes manifests, checked offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from router.cli import main
from tests.conftest import ROOT, require_binary

VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = VENV_BIN / name
    if path.exists():
        return str(path)
    return require_binary(name)


OVERLAYS = [
    "deploy/k8s",
    "deploy/overlays/files",
    "deploy/overlays/git-sync",
    "deploy/overlays/postgres",
]


def render(folder: str) -> list[dict[str, Any]]:
    """``kubectl kustomize`` with kubectl's defaults (no load-restrictor flag)."""
    kubectl = require_binary("kubectl")
    out = subprocess.run(
        [kubectl, "kustomize", str(ROOT / folder)],
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


@pytest.mark.parametrize("folder", OVERLAYS)
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


def router_container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    pod = by_kind(documents)["Deployment"]["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "router")


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def test_base_lists_no_runbook_and_runs_the_images_examples() -> None:
    documents = render("deploy/k8s")
    assert [d for d in documents if d["kind"] == "ConfigMap"] == []
    env = env_of(router_container(documents))
    assert "ROUTER_CONFIG" not in env  # the image's ENV: /etc/runbook-router/routes.yaml
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY runbooks /etc/runbook-router/runbooks" in dockerfile
    assert "ROUTER_CONFIG=/etc/runbook-router/routes.yaml" in dockerfile


def test_files_overlay_mounts_a_config_that_checks(capsys: pytest.CaptureFixture[str]) -> None:
    documents = render("deploy/overlays/files")
    (configmap,) = [d for d in documents if d["kind"] == "ConfigMap"]
    assert sorted(configmap["data"]) == ["routes.yaml", "runbooks.md"]
    container = router_container(documents)
    env = env_of(container)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert env["ROUTER_CONFIG"] == "/etc/runbook-router/config/routes.yaml"
    assert mounts[env["ROUTER_RUNBOOKS"]] == "config"
    # The overlay's own files are a valid config: routes, two RUN- entries in one file.
    folder = ROOT / "deploy/overlays/files"
    args = ["check", "--config", str(folder / "routes.yaml"), "--runbooks", str(folder)]
    assert main(args) == 0
    assert "2 runbooks" in capsys.readouterr().out


def test_git_sync_overlay_clones_first_and_syncs_beside_the_router() -> None:
    documents = render("deploy/overlays/git-sync")
    pod = by_kind(documents)["Deployment"]["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    sidecar = next(c for c in pod["containers"] if c["name"] == "git-sync")
    for container in (init, sidecar):
        assert container["image"].startswith("registry.k8s.io/git-sync/git-sync:v4.")
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert env_of(init)["GITSYNC_ONE_TIME"] == "true"
    settings = next(d for d in documents if d["kind"] == "ConfigMap")["data"]
    assert (settings["GITSYNC_ROOT"], settings["GITSYNC_LINK"]) == ("/git", "current")
    env = env_of(router_container(documents))
    assert env["ROUTER_CONFIG"] == "/git/current/routes.yaml"
    assert env["ROUTER_RUNBOOKS"] == "/git/current/runbooks"


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


def test_network_policy_admits_only_the_ingress_controller_and_monitoring() -> None:
    policy = by_kind(render("deploy/k8s"))["NetworkPolicy"]
    (rule,) = policy["spec"]["ingress"]
    namespaces = {
        s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for s in rule["from"]
    }
    assert namespaces == {"ingress-nginx", "monitoring"}
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
