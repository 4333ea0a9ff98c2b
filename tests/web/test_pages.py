from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from tests.fakes.clock import FakeClock
from tests.helpers import AUTH, BODY, RUNBOOKS, AppClients, settings

JSON = {"Accept": "application/json"}


@pytest.fixture
def client(app_client: AppClients) -> TestClient:
    clock = FakeClock()  # 2026-11-22: RUN-010 (tested 2026-05-12) is stale
    return app_client(run_dispatcher=False, clock=clock)


def test_index_by_category(client: TestClient) -> None:
    html = client.get("/runbooks").text
    assert (
        html.index("<h2>Incident</h2>")
        < html.index("<h2>Deployment</h2>")
        < html.index("<h2>Recovery</h2>")
    )
    assert '<a href="/runbooks/RUN-001">RUN-001: Database Connection Pool Exhaustion</a>' in html
    assert 'name="viewport"' in html
    assert "https://" not in html.split("<main>")[0]  # no CDN: everything is inline


def test_index_as_json(client: TestClient) -> None:
    entries = client.get("/runbooks", headers=JSON).json()["runbooks"]
    assert len(entries) == 14
    stale = [e["id"] for e in entries if e["stale"]]
    assert stale == ["RUN-010"]
    assert entries[0] == {
        "id": "RUN-001",
        "title": "Database Connection Pool Exhaustion",
        "category": "Incident",
        "owner": "Backend Team",
        "last_tested": "2026-10-02",
        "stale": False,
        "trigger": "DatabaseConnectionPoolHigh alert (pool utilisation > 90% for 5 minutes)",
        "url": "/runbooks/RUN-001",
    }


def test_search_uses_the_runbook_search(client: TestClient) -> None:
    found = client.get("/runbooks", params={"q": "conection pool"}, headers=JSON).json()["runbooks"]
    assert found[0]["id"] == "RUN-001"
    html = client.get("/runbooks", params={"q": "conection pool"}).text
    assert "result(s) for “conection pool”" in html
    assert "No runbook matches “xyzzy”" in client.get("/runbooks", params={"q": "xyzzy"}).text


def test_entry_page(client: TestClient) -> None:
    html = client.get("/runbooks/run-1").text
    assert "<h1>RUN-001: Database Connection Pool Exhaustion</h1>" in html
    assert html.count('class="copy"') == 4  # one per command block (four steps)
    assert '<code class="language-sql">SELECT pg_terminate_backend' in html
    assert '<span class="badge fresh">tested</span>' in html
    assert '<span class="badge stale"' in client.get("/runbooks/RUN-010").text


def test_entry_as_json(client: TestClient) -> None:
    entry = client.get("/runbooks/RUN-001", headers=JSON).json()
    assert entry["id"] == "RUN-001"
    assert len(entry["steps"]) == 4
    assert entry["stale"] is False
    assert "source" not in entry


def test_unknown_entry_is_404(client: TestClient) -> None:
    assert client.get("/runbooks/RUN-404").status_code == 404
    assert client.get("/runbooks/RUN-404", headers=JSON).json() == {
        "error": "runbook RUN-404 not found"
    }
    assert client.get("/alerts/999999", headers=JSON).status_code == 404


def test_alerts_page_and_detail(client: TestClient) -> None:
    client.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
    html = client.get("/alerts").text
    assert "DatabaseConnectionPoolHigh" in html
    assert "route &#39;db-pool&#39; sets SEV1" in html
    assert '<span class="badge pending">pending</span>' in html
    (row,) = client.get("/alerts", headers=JSON).json()["alerts"]
    detail = client.get(f"/alerts/{row['id']}").text
    assert "Payload as received" in detail
    assert "pgbouncer_pools_server_active_connections" in detail  # the raw generatorURL
    assert (
        client.get(f"/alerts/{row['id']}", headers=JSON).json()["raw"]["fingerprint"]
        == "b1c6f0a3d2e9f874"
    )


def test_hostile_text_is_escaped(client: TestClient) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    body = json.dumps(
        {
            "alerts": [
                {
                    "labels": {"alertname": hostile, "x": hostile},
                    "annotations": {"summary": hostile},
                }
            ]
        }
    )
    client.post("/webhooks/alertmanager", content=body, headers=AUTH)
    (row,) = client.get("/alerts", headers=JSON).json()["alerts"]
    for html in (client.get("/alerts").text, client.get(f"/alerts/{row['id']}").text):
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;" in html


def test_runbook_markdown_cannot_inject_html(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, runbooks)
    (runbooks / "RUN-099-evil.md").write_text(
        "# RUN-099: Evil\n<script>alert(1)</script>\n\n[click](javascript:alert(1))\n",
        encoding="utf-8",
    )
    with TestClient(
        create_app(settings(tmp_path, runbooks=str(runbooks)), run_dispatcher=False)
    ) as c:
        html = c.get("/runbooks/RUN-099").text
    assert "<script>alert(1)</script>" not in html
    assert 'href="javascript:' not in html


def test_runbook_gauges(client: TestClient) -> None:
    text = client.get("/metrics").text
    assert "router_runbooks 14.0" in text
    assert "router_runbooks_stale 1.0" in text
    assert "router_runbook_lint_errors 0.0" in text


def test_unmatched_alert_names_are_bounded(client: TestClient) -> None:
    names = [f"NoRunbook{i}" for i in range(60)]
    body = json.dumps({"alerts": [{"labels": {"alertname": n}} for n in names]})
    client.post("/webhooks/alertmanager", content=body, headers=AUTH)
    text = client.get("/metrics").text
    series = [
        line for line in text.splitlines() if line.startswith("router_unmatched_alert_names_total{")
    ]
    assert len(series) == 51  # fifty names, then _other
    assert 'router_unmatched_alert_names_total{alertname="_other"} 10.0' in series


NODE_RUNBOOK = """\
# RUN-099: Node not ready
Category: Incident
Owner: Platform Team
Last Tested: 2026-11-01

## Procedure
### Step 1: Drain {{ $labels.node }}
Move the pods off {{ $labels.node }} (cluster {{ $labels.cluster }}).
```bash
kubectl drain {{ $labels.node }} --ignore-daemonsets
kubectl -n {{ $labels.namespace }} get pods
```
"""


@pytest.fixture
def nodes(tmp_path: Path, app_client: AppClients) -> TestClient:
    """The fixture runbooks with RUN-099, which names an alert's labels."""
    runbooks = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, runbooks)
    (runbooks / "RUN-099-node-not-ready.md").write_text(NODE_RUNBOOK, encoding="utf-8")
    return app_client(run_dispatcher=False, runbooks=str(runbooks))


def node_alert(client: TestClient, node: str) -> int:
    labels = {"alertname": "NodeNotReady", "node": node, "cluster": "<b>eu-1</b>"}
    body = json.dumps({"alerts": [{"labels": labels}]})
    assert client.post("/webhooks/alertmanager", content=body, headers=AUTH).status_code == 202
    (row,) = client.get("/alerts", headers=JSON).json()["alerts"]
    alert_id: int = row["id"]
    return alert_id


def test_entry_filled_for_an_alert(nodes: TestClient) -> None:
    alert_id = node_alert(nodes, "node b<script>")
    html = nodes.get("/runbooks/RUN-099", params={"alert": str(alert_id)}).text
    assert f'Filled from the labels of alert <a href="/alerts/{alert_id}">NodeNotReady</a>' in html
    # Commands quoted for the shell, text as text; both HTML-escaped.
    assert "kubectl drain 'node b&lt;script&gt;' --ignore-daemonsets" in html
    assert "Move the pods off node b&lt;script&gt; (cluster &lt;b&gt;eu-1&lt;/b&gt;)." in html
    assert "<script>" not in html.split("</main>")[0]
    assert "kubectl -n {{ $labels.namespace }} get pods" in html  # the alert lacks it
    raw = nodes.get("/runbooks/RUN-099").text
    assert "kubectl drain {{ $labels.node }} --ignore-daemonsets" in raw
    assert "Filled from" not in raw


def test_entry_filled_for_an_alert_as_json(nodes: TestClient) -> None:
    alert_id = node_alert(nodes, "node b")
    entry = nodes.get("/runbooks/RUN-099", params={"alert": alert_id}, headers=JSON).json()
    assert entry["filled_for"] == {
        "id": alert_id,
        "name": "NodeNotReady",
        "url": f"/alerts/{alert_id}",
    }
    (step,) = entry["filled_steps"]
    assert step["title"] == "Drain node b"
    assert step["commands"] == [
        {
            "language": "bash",
            "fillings": [
                "kubectl drain 'node b' --ignore-daemonsets\n"
                "kubectl -n {{ $labels.namespace }} get pods\n"
            ],
            "more": 0,
        }
    ]
    assert entry["steps"][0]["title"] == "Drain {{ $labels.node }}"  # as written, still


@pytest.mark.parametrize("value", ["abc", "", "0", "-1", "1.5", "99999999999999999999"])
def test_an_alert_that_cannot_be_an_id_is_refused_by_name(client: TestClient, value: str) -> None:
    answer = client.get("/runbooks/RUN-001", params={"alert": value}, headers=JSON)
    assert answer.status_code == 422
    assert answer.json() == {
        "error": f"alert: {value!r} is not an alert id (the number in /alerts/ID)"
    }
    page = client.get("/runbooks/RUN-001", params={"alert": value})
    assert page.status_code == 422
    assert "alert: " in page.text


def test_an_unknown_alert_is_404(client: TestClient) -> None:
    answer = client.get("/runbooks/RUN-001", params={"alert": "999999"}, headers=JSON)
    assert (answer.status_code, answer.json()) == (404, {"error": "alert 999999 not found"})
    assert client.get("/runbooks/RUN-001?alert=999999").status_code == 404


def test_the_alert_pages_open_the_runbook_filled(client: TestClient) -> None:
    client.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
    (row,) = client.get("/alerts", headers=JSON).json()["alerts"]
    link = f'<a href="/runbooks/RUN-001?alert={row["id"]}">'
    assert link in client.get(f"/alerts/{row['id']}").text
    assert link in client.get("/alerts").text
