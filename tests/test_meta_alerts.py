"""Meta alerts (severity none) and notify: false routes: stored and shown, never posted."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from router.app import create_app
from tests.helpers import AUTH, GOLDEN, settings, stored

ALERTMANAGER = json.loads((GOLDEN / "sources/alertmanager/firing-single.json").read_text("utf-8"))


def body(*alerts: dict[str, str]) -> bytes:
    data = json.loads(json.dumps(ALERTMANAGER))
    template = data["alerts"][0]
    data["alerts"] = [
        {**template, "labels": labels, "fingerprint": f"fp{i}"} for i, labels in enumerate(alerts)
    ]
    return json.dumps(data).encode()


def test_watchdog_with_severity_none_is_stored_not_posted(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path), run_dispatcher=False)
    with TestClient(app) as client:
        meta = body(
            {"alertname": "Watchdog", "severity": "none", "namespace": "monitoring"},
            {"alertname": "InfoInhibitor", "severity": "none", "namespace": "monitoring"},
        )
        response = client.post("/webhooks/alertmanager", content=meta, headers=AUTH)
        assert response.status_code == 202
        assert (response.json()["alerts"], response.json()["messages_changed"]) == (2, 0)
        rows = stored(client)
        assert sorted(r["name"] for r in rows) == ["InfoInhibitor", "Watchdog"]
        for row in rows:
            (decision,) = row["decisions"]
            assert decision["notify"] is False
            assert decision["reason"].startswith("severity=none: a meta alert, below SEV4")
            assert row["deliveries"] == []


def test_a_route_with_notify_false_stores_and_never_posts(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n"
        "  - name: quiet-canary\n"
        "    matchers: ['alertname=\"CanaryFailing\"']\n"
        "    notify: false\n"
        "  - name: meta-made-loud\n"
        "    matchers: ['alertname=\"Watchdog\"']\n"
        "    notify: true\n",
        encoding="utf-8",
    )
    app = create_app(settings(tmp_path, config=str(routes)), run_dispatcher=False)
    with TestClient(app) as client:
        quiet = body({"alertname": "CanaryFailing", "severity": "critical"})
        response = client.post("/webhooks/alertmanager", content=quiet, headers=AUTH)
        assert response.json()["messages_changed"] == 0
        loud = body({"alertname": "Watchdog", "severity": "none"})
        response = client.post("/webhooks/alertmanager", content=loud, headers=AUTH)
        assert response.json()["messages_changed"] == 1
