"""SIGHUP reloads a running router, as it does Prometheus and Alertmanager."""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

from tests.e2e.processes import RouterProcess, http
from tests.helpers import GOLDEN, ROUTES, wait_for


def test_sighup_applies_a_good_config_and_keeps_the_old_one_for_a_bad(
    tmp_path: Path, start_router: Callable[..., RouterProcess]
) -> None:
    routes = tmp_path / "routes.yaml"
    shutil.copy(ROUTES, routes)
    router = start_router(
        ROUTER_CONFIG=str(routes), ROUTER_RELOAD_INTERVAL="0", ROUTER_ADMIN_TOKEN="e2e-admin"
    )
    admin = {"Authorization": "Bearer e2e-admin"}
    body = json.loads((GOLDEN / "sources/alertmanager/firing-single.json").read_text())

    def channel() -> str:
        return str(
            http("POST", f"{router.url}/api/route", body, admin)[1]["alerts"][0]["decisions"][0][
                "channel"
            ]
        )

    assert channel() == "#db-oncall"
    routes.write_text("routes:\n  - {name: all, channel: '#everything'}\n", encoding="utf-8")
    assert router.proc is not None
    router.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: channel() == "#everything", 10, "SIGHUP to apply the new routes")

    routes.write_text("routes: [{name: broken, matchers: ['env=~\"prod']}]\n", encoding="utf-8")
    router.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload (SIGHUP) refused" in router.log_path.read_text(), 10, "the refusal")
    assert "routes[0].matchers[0]" in router.log_path.read_text()
    assert channel() == "#everything"
    assert router.proc.poll() is None  # SIGHUP did not kill it
    assert router.metric("router_config_last_reload_successful") == 0
