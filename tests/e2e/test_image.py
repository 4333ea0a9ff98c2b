"""The container image: built with buildah on a local Debian base, run with podman.

No registry is reachable here, so the base is made with debootstrap (cached
between runs on one machine) and the Dockerfile builds FROM it via ARG BASE.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import RUNNING, http
from tests.helpers import GOLDEN, ROOT, require_binary, wait_for

BASE_IMAGE = "localhost/runbook-router-test-base:bookworm"
CACHE = Path(os.environ.get("ROUTER_IMAGE_CACHE", "/var/cache/runbook-router-test"))
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
netns = "host"

[engine]
runtime = "runc"
"""
TOKEN = "image-token"


def run(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args[:4])}... failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


@pytest.fixture(scope="module")
def podman_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    for tool in ("debootstrap", "buildah", "podman", "runc"):
        require_binary(tool)
    conf = tmp_path_factory.mktemp("containers") / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


@pytest.fixture(scope="module")
def base_image(podman_env: dict[str, str]) -> str:
    tarball = CACHE / "debian-bookworm-python.tar"
    if not tarball.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        rootfs = CACHE / f"rootfs-{uuid.uuid4().hex[:8]}"
        try:
            run(
                "debootstrap", "--variant=minbase", "--include=python3,python3-venv,python3-pip,ca-certificates",
                "bookworm", str(rootfs), "http://deb.debian.org/debian", timeout=900,
            )  # fmt: skip
            run("tar", "-C", str(rootfs), "-cf", str(tarball) + ".part", ".")
            os.replace(str(tarball) + ".part", tarball)
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
    run("podman", "import", str(tarball), BASE_IMAGE, env=podman_env)
    return BASE_IMAGE


@pytest.fixture(scope="module")
def image(base_image: str, podman_env: dict[str, str]) -> Iterator[str]:
    tag = f"localhost/runbook-router:test-{uuid.uuid4().hex[:8]}"
    # This machine reaches PyPI through a proxy whose CA only the host trusts: lend
    # the host's CA bundle to the build's RUN steps (the Dockerfile stays clean).
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    volumes = ["--volume", f"{bundle}:{bundle}:ro"] if Path(bundle).exists() else []
    run(
        "buildah", "bud", "--format", "docker", "--isolation", "chroot", "--network", "host", *volumes,
        "--build-arg", f"BASE={base_image}", "-t", tag, "-f", str(ROOT / "Dockerfile"), str(ROOT),
        timeout=900, env=podman_env,
    )  # fmt: skip
    yield tag
    subprocess.run(["podman", "rmi", "-f", tag], capture_output=True, env=podman_env, timeout=120)


def test_image_runs_as_non_root_and_routes_an_alert(image: str, podman_env: dict[str, str]) -> None:
    inspect = json.loads(run("podman", "image", "inspect", image, env=podman_env))[0]
    assert inspect["Config"]["User"] == "10001:10001"
    assert inspect["Config"]["Entrypoint"] == ["runbook-router"]
    assert inspect["Healthcheck"]["Test"][:2] == ["CMD", "python3"]  # docker format keeps it

    name = f"router-{uuid.uuid4().hex[:8]}"
    run(
        "podman", "run", "-d", "--name", name, "--network", "host",
        "-e", f"ALERTMANAGER_TOKEN={TOKEN}", image, "serve", "--host", "127.0.0.1", "--port", "0",
        env=podman_env,
    )  # fmt: skip
    try:

        def bound() -> int | None:
            logs = subprocess.run(
                ["podman", "logs", name], capture_output=True, text=True, env=podman_env, timeout=60
            )
            found = RUNNING.search(logs.stdout + logs.stderr)
            return int(found.group(1)) if found else None

        wait_for(lambda: bound() is not None, 60, "the router in the container to bind a port")
        url = f"http://127.0.0.1:{bound()}"

        def ready() -> bool:
            try:
                return http("GET", f"{url}/readyz")[0] == 200
            except OSError:
                return False

        wait_for(ready, 60, "the router in the container")
        body = json.loads((GOLDEN / "sources/alertmanager/firing-single.json").read_text())
        status, answer = http(
            "POST", f"{url}/webhooks/alertmanager", body, {"Authorization": f"Bearer {TOKEN}"}
        )
        assert (status, answer["status"]) == (202, "accepted")

        def container_logs() -> str:
            result = subprocess.run(
                ["podman", "logs", name], capture_output=True, text=True, env=podman_env, timeout=60
            )
            return result.stdout + result.stderr  # the router logs to stderr

        wait_for(
            lambda: "slack post to #db-oncall" in container_logs(),
            30,
            "the routed message in the log",
        )
        logs = container_logs()
        events = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
        assert any(e.get("route") == "db-pool" and e.get("runbook") == "RUN-001" for e in events)
        assert TOKEN not in logs
        user = run("podman", "exec", name, "id", "-u", env=podman_env).strip()
        assert user == "10001"
    finally:
        subprocess.run(
            ["podman", "rm", "-f", name], capture_output=True, env=podman_env, timeout=120
        )
