"""The image definition and the Kubernetes manifests, checked offline."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from router import __version__
from router.access import Surface, surface
from router.cli import main
from tests.helpers import ROOT, require_binary

VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = VENV_BIN / name
    if path.exists():
        return str(path)
    return require_binary(name)


BASE = "deploy/k8s"
OVERLAYS = sorted(
    str(k.parent.relative_to(ROOT)) for k in (ROOT / "deploy/overlays").glob("*/kustomization.yaml")
)
VARIANTS = [BASE, *OVERLAYS]
# What a bare cluster knows: core, apps, policy, networking. Anything else is a CRD.
BUILT_IN_API_VERSIONS = {"v1", "apps/v1", "policy/v1", "networking.k8s.io/v1"}
SQLITE_URL = "sqlite:////var/lib/runbook-router/router.db"


def render(folder: str | Path) -> list[dict[str, Any]]:
    """``kubectl kustomize`` with kubectl's defaults, no ``--load-restrictor`` flag.

    ``kubectl apply -k`` has no such flag, so a variant that needed it could not be
    applied as the docs say; rendering without it holds every variant to that.
    """
    kubectl = require_binary("kubectl")
    out = subprocess.run(
        [kubectl, "kustomize", str(ROOT / folder)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def validate_strictly(documents: list[dict[str, Any]], tmp_path: Path) -> list[str]:
    """``kubernetes-validate --strict`` against Kubernetes 1.32; its warnings back."""
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
    return [line for line in output.splitlines() if line.startswith(("WARN", "ERROR"))]


def test_hadolint_clean_at_warning_level() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_overlay_is_a_variant() -> None:
    assert {"files", "git-sync", "ingress", "postgres", "servicemonitor"} <= {
        Path(o).name for o in OVERLAYS
    }


@pytest.mark.parametrize("folder", VARIANTS)
def test_manifests_validate_strictly(folder: str, tmp_path: Path) -> None:
    documents = render(folder)
    warnings = validate_strictly(documents, tmp_path)
    # The only kind without a built-in schema is the ServiceMonitor CRD, in its overlay.
    assert all("ServiceMonitor" in w for w in warnings), warnings
    if not any(d["kind"] == "ServiceMonitor" for d in documents):
        assert warnings == []


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


def pod_spec(documents: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = by_kind(documents)["Deployment"]["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("folder", VARIANTS)
def test_deployment_is_hardened_and_probed(folder: str) -> None:
    pod = pod_spec(render(folder))
    container = next(c for c in pod["containers"] if c["name"] == "router")
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


def test_base_has_only_built_in_kinds() -> None:
    documents = render(BASE)
    assert {d["apiVersion"] for d in documents} <= BUILT_IN_API_VERSIONS
    assert {"Deployment", "Service", "PersistentVolumeClaim", "NetworkPolicy"} <= {
        d["kind"] for d in documents
    }


def test_base_runs_one_sqlite_writer_on_its_volume() -> None:
    documents = render(BASE)
    kinds = by_kind(documents)
    deployment = kinds["Deployment"]["spec"]
    assert deployment["replicas"] == 1
    assert deployment["strategy"] == {"type": "Recreate"}  # never two writers on one file
    assert "PodDisruptionBudget" not in kinds  # minAvailable 1 of 1 would block every drain
    pod = pod_spec(documents)
    container = router_container(documents)
    assert env_of(container)["ROUTER_DATABASE_URL"] == SQLITE_URL
    # The database's folder is the claim's volume; the root file system stays read-only.
    database_dir = str(Path(SQLITE_URL.removeprefix("sqlite:///")).parent)
    mount = {m["mountPath"]: m for m in container["volumeMounts"]}[database_dir]
    assert not mount.get("readOnly")
    volume = {v["name"]: v for v in pod["volumes"]}[mount["name"]]
    claim = kinds["PersistentVolumeClaim"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    context = pod["securityContext"]
    assert context["fsGroup"] == context["runAsGroup"]  # the volume is writable by the router
    # The pod starts before the Secret exists; endpoints without theirs answer 401.
    assert container["envFrom"] == [{"secretRef": {"name": "runbook-router", "optional": True}}]


def test_image_is_the_version_built_and_named_for_overrides() -> None:
    kustomization = yaml.safe_load((ROOT / BASE / "kustomization.yaml").read_text())
    (image,) = kustomization["images"]
    assert image == {"name": "runbook-router", "newTag": __version__}
    for folder in VARIANTS:
        assert router_container(render(folder))["image"] == f"runbook-router:{__version__}"


def test_servicemonitor_overlay_scrapes_the_service() -> None:
    kinds = by_kind(render("deploy/overlays/servicemonitor"))
    monitor, service = kinds["ServiceMonitor"], kinds["Service"]
    labels = service["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


def test_ingress_routes_only_slack_and_webhooks() -> None:
    kinds = by_kind(render("deploy/overlays/ingress"))
    ingress, service = kinds["Ingress"]["spec"], kinds["Service"]
    (rule,) = ingress["rules"]
    paths = rule["http"]["paths"]
    assert sorted(p["path"] for p in paths) == ["/slack/", "/webhooks/"]
    assert "defaultBackend" not in ingress
    port_names = {p["name"] for p in service["spec"]["ports"]}
    for path in paths:
        assert path["pathType"] == "Prefix"
        # Only what verifies itself (a signature or token) is reachable from outside.
        assert surface(path["path"] + "anything") is Surface.PUBLIC
        backend = path["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"]
        assert backend["port"]["name"] in port_names
    for hidden in ("/alerts", "/runbooks", "/docs", "/metrics", "/-/reload", "/api/route"):
        assert not any(hidden.startswith(p["path"].rstrip("/")) for p in paths), hidden
    (tls,) = ingress["tls"]
    assert tls["hosts"] == [rule["host"]] == ["router.example.com"]  # the placeholder
    assert tls["secretName"]


def router_container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    pod = by_kind(documents)["Deployment"]["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "router")


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def test_base_lists_no_runbook_and_runs_the_images_examples() -> None:
    documents = render(BASE)
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


def test_postgres_overlay_runs_two_replicas_on_postgres_only() -> None:
    documents = render("deploy/overlays/postgres")
    kinds = by_kind(documents)
    deployment = kinds["Deployment"]["spec"]
    assert deployment["replicas"] == 2
    assert deployment["strategy"]["type"] == "RollingUpdate"
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    container = router_container(documents)
    (url,) = [e for e in container["env"] if e["name"] == "ROUTER_DATABASE_URL"]
    assert url == {
        "name": "ROUTER_DATABASE_URL",
        "valueFrom": {"secretKeyRef": {"name": "runbook-router", "key": "ROUTER_DATABASE_URL"}},
    }
    assert "PersistentVolumeClaim" not in kinds
    pod = pod_spec(documents)
    assert not [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert "sqlite" not in yaml.safe_dump(kinds["Deployment"])
    # One replica at a time may go in a drain.
    pdb = kinds["PodDisruptionBudget"]["spec"]
    assert pdb["minAvailable"] == 1
    selector = pdb["selector"]["matchLabels"]
    assert selector == kinds["Deployment"]["spec"]["selector"]["matchLabels"]
    statefulset = kinds["StatefulSet"]["spec"]["template"]["spec"]
    assert statefulset["containers"][0]["image"].startswith("postgres:15")


def test_secret_example_names_what_the_postgres_overlay_reads() -> None:
    secrets = {
        d["metadata"]["name"]: d["stringData"]
        for d in yaml.safe_load_all((ROOT / "deploy/k8s/secret.example.yaml").read_text())
    }
    url = secrets["runbook-router"]["ROUTER_DATABASE_URL"]
    kinds = by_kind(render("deploy/overlays/postgres"))
    assert url.startswith("postgresql://")
    assert f"@{kinds['StatefulSet']['spec']['serviceName']}:5432/" in url
    assert "password" in secrets["runbook-router-postgres"]


def test_the_production_overlay_in_deploy_readme_renders(tmp_path: Path) -> None:
    """deploy/README.md's own overlay, beside a checkout, with everything stacked."""
    text = (ROOT / "deploy/README.md").read_text()
    (example,) = re.findall(r"```yaml\n(# my-router/kustomization\.yaml.*?)```", text, re.S)
    (tmp_path / "runbook-router").symlink_to(ROOT)
    (tmp_path / "my-router").mkdir()
    (tmp_path / "my-router/kustomization.yaml").write_text(example)
    documents = render(tmp_path / "my-router")
    warnings = validate_strictly(documents, tmp_path)
    assert all("ServiceMonitor" in w for w in warnings), warnings
    kinds = by_kind(documents)
    assert {"Ingress", "ServiceMonitor", "PodDisruptionBudget", "StatefulSet"} <= set(kinds)
    assert kinds["Deployment"]["spec"]["replicas"] == 2
    image = router_container(documents)["image"]
    assert image == f"registry.example.com/platform/runbook-router:{__version__}"
    assert kinds["Ingress"]["spec"]["rules"][0]["host"] == "alerts.mycompany.com"
    assert kinds["Ingress"]["spec"]["tls"][0]["hosts"] == ["alerts.mycompany.com"]


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
    policy = by_kind(render(BASE))["NetworkPolicy"]
    (rule,) = policy["spec"]["ingress"]
    namespaces = {
        s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for s in rule["from"]
    }
    assert namespaces == {"ingress-nginx", "monitoring"}
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]


def test_network_policy_lets_the_router_reach_alertmanagers_api() -> None:
    policy = by_kind(render(BASE))["NetworkPolicy"]
    to_alertmanager = [
        rule
        for rule in policy["spec"]["egress"]
        if {"port": 9093, "protocol": "TCP"} in rule.get("ports", [])
    ]
    (rule,) = to_alertmanager
    (peer,) = rule["to"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
