"""/alerts for the 3 AM question: firing now, filters, links to Slack and postmortems, names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fakes.clock import FakeClock
from tests.fakes.slack import FakeSlack
from tests.helpers import AUTH, AppClients, postmortem_routes, runtime

JSON = {"Accept": "application/json"}
JANE, BOB = "U01JANE", "U02BOB"
FIRING = ["DatabaseConnectionPoolHigh", "HighErrorRate", "KubePodCrashLooping"]


def am(name: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": status,
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} summary"},
        "startsAt": "2026-11-22T01:00:00Z",
    }
    if status == "resolved":
        alert["endsAt"] = "2026-11-22T01:10:00Z"
    return alert


ALERTS = [
    am("DatabaseConnectionPoolHigh", env="prod", severity="critical", instance="db-1"),
    am("HighErrorRate", service="checkout", severity="critical"),
    am(
        "KubePodCrashLooping",
        namespace="jobs",
        pod="worker-7f9",
        container="worker",
        severity="warning",
    ),
    am("QueueDepthHigh", "resolved", queue="emails", severity="warning"),
]


def send(client: TestClient, *alerts: dict[str, Any]) -> None:
    for n, alert in enumerate(alerts):  # one group each: one message each
        key = f"g{n}-{alert['labels']['alertname']}"
        body = {"version": "4", "groupKey": key, "status": alert["status"], "alerts": [alert]}
        response = client.post("/webhooks/alertmanager", content=json.dumps(body), headers=AUTH)
        assert response.status_code == 202, response.text


def deliver(client: TestClient) -> None:
    """Post everything queued, at once (no channel pacing in a test)."""
    rt = runtime(client)
    rt.dispatcher.channel_interval = 0.0
    while rt.dispatcher.dispatch_due():
        pass


def listed(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get("/alerts", params=params, headers=JSON)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["alerts"]
    return rows


def names(client: TestClient, **params: str) -> list[str]:
    return sorted(row["name"] for row in listed(client, **params))


@pytest.fixture
def client(app_client: AppClients) -> TestClient:
    """No Slack token: messages go to the log."""
    c = app_client(run_dispatcher=False, clock=FakeClock())
    send(c, *ALERTS)
    return c


@pytest.fixture
def slack_client(tmp_path: Path, fake_slack: FakeSlack, app_client: AppClients) -> TestClient:
    """Slack (the fake) posts every message; SEV1 asks for postmortems."""
    fake_slack.names = {JANE: "Jane Doe"}
    c = app_client(
        run_dispatcher=False,
        clock=FakeClock(),
        config=postmortem_routes(tmp_path),
        slack_bot_token="xoxb-test",
        slack_api_url=fake_slack.base_url,
    )
    send(c, *ALERTS)
    deliver(c)
    return c


def test_firing_now_by_default(client: TestClient) -> None:
    assert names(client) == FIRING
    html = client.get("/alerts").text
    assert "<h1>Firing now" in html
    assert "QueueDepthHigh" not in html
    assert 'href="/alerts?state=all"' in html  # the way to everything else
    assert names(client, state="resolved") == ["QueueDepthHigh"]
    assert names(client, state="all") == sorted([*FIRING, "QueueDepthHigh"])
    assert "QueueDepthHigh" in client.get("/alerts", params={"state": "all"}).text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"level": "SEV1"}, ["DatabaseConnectionPoolHigh", "HighErrorRate"]),
        ({"level": "sev3"}, ["KubePodCrashLooping"]),
        ({"channel": "#db-oncall"}, ["DatabaseConnectionPoolHigh"]),
        ({"channel": "data-platform"}, ["KubePodCrashLooping"]),  # the "#" left out
        ({"route": "bad-deploy"}, ["HighErrorRate"]),
        ({"source": "datadog"}, []),
        ({"source": "alertmanager", "level": "SEV1", "channel": "#incidents"}, ["HighErrorRate"]),
        ({"q": "worker-7f9"}, ["KubePodCrashLooping"]),  # a label value
        ({"q": "errorrate"}, ["HighErrorRate"]),  # the name, any case
        ({"q": "pool summary"}, ["DatabaseConnectionPoolHigh"]),  # every word, the summary
        ({"q": "emails"}, []),  # resolved: not firing now
        ({"q": "emails", "state": "all"}, ["QueueDepthHigh"]),
        ({"level": "", "channel": " ", "q": ""}, FIRING),  # what a form sends for "any"
    ],
)
def test_filters_change_the_rows(
    client: TestClient, params: dict[str, str], expected: list[str]
) -> None:
    assert names(client, **params) == expected
    html = client.get("/alerts", params=params).text
    for name in FIRING:
        assert (f">{name}</a>" in html) == (name in expected), name


def test_the_json_says_which_filter_it_applied(client: TestClient) -> None:
    answer = client.get("/alerts", params={"level": "sev1", "q": "db  prod"}, headers=JSON).json()
    assert answer["filter"] == {
        "state": "firing",
        "channel": None,
        "level": "SEV1",
        "route": None,
        "source": None,
        "words": ["db", "prod"],
        "limit": 100,
    }


def test_the_form_keeps_the_filter(client: TestClient) -> None:
    html = client.get("/alerts", params={"level": "SEV1", "channel": "#db-oncall"}).text
    assert "<option selected>SEV1</option>" in html
    assert 'name="channel" class="small" list="channels" value="#db-oncall"' in html
    # The tabs keep the filters and change the state.
    assert 'href="/alerts?state=resolved&amp;level=SEV1&amp;channel=%23db-oncall"' in html
    assert "Clear filters" in html


@pytest.mark.parametrize(
    ("query", "parameter", "message"),
    [
        ("level=SEV9", "level", "level: 'SEV9' is not one of SEV0, SEV1, SEV2, SEV3, SEV4"),
        ("state=bogus", "state", "state: 'bogus' is not one of firing, resolved, all"),
        ("source=nagios", "source", "source: 'nagios' is not one of alertmanager, grafana,"),
        ("limit=abc", "limit", "limit: 'abc' is not a whole number"),
        ("level=SEV1&level=SEV2", "level", "level: given 2 times; give it once"),
        ("q=" + "x" * 201, "q", "q: longer than 200 characters"),
        ("q=" + "+".join("abcdefghi"), "q", "q: 9 words; at most 8"),
        ("channel=" + "c" * 201, "channel", "channel: longer than 200 characters"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    client: TestClient, query: str, parameter: str, message: str
) -> None:
    answer = client.get(f"/alerts?{query}", headers=JSON)
    assert answer.status_code == 422
    assert answer.json()["parameter"] == parameter
    assert answer.json()["error"].startswith(message)
    page = client.get(f"/alerts?{query}")
    assert page.status_code == 422
    assert 'role="alert"' in page.text
    assert message.replace("'", "&#39;") in page.text
    assert 'name="q"' in page.text  # the form is there to correct it


def test_a_limit_past_the_bounds_is_held_to_them(client: TestClient) -> None:
    assert len(listed(client, limit="1")) == 1
    assert len(listed(client, limit="0")) == 1
    answer = client.get("/alerts", params={"limit": "5000"}, headers=JSON).json()
    assert answer["filter"]["limit"] == 1000


def test_rows_link_to_the_slack_message_and_the_postmortem(
    slack_client: TestClient, fake_slack: FakeSlack
) -> None:
    rows = {row["name"]: row for row in listed(slack_client)}
    (db,) = fake_slack.posts("#db-oncall")
    link = f"https://fake-workspace.slack.com/archives/{db.channel}/p{db.ts.replace('.', '')}"
    (delivery,) = rows["DatabaseConnectionPoolHigh"]["deliveries"]
    assert delivery["slack_url"] == link
    assert rows["DatabaseConnectionPoolHigh"]["postmortem_url"] == (
        f"/alerts/{rows['DatabaseConnectionPoolHigh']['id']}/postmortem.md"
    )
    assert rows["KubePodCrashLooping"]["postmortem_url"] is None  # SEV3 asks for none
    html = slack_client.get("/alerts").text
    assert f'<a href="{link}" rel="noreferrer"' in html
    assert f'href="{rows["DatabaseConnectionPoolHigh"]["postmortem_url"]}">Postmortem</a>' in html
    assert fake_slack.count("auth.test") == 1
    slack_client.get("/alerts")
    assert fake_slack.count("auth.test") == 1  # the workspace's address is kept


def test_no_slack_token_no_slack_links(client: TestClient) -> None:
    rows = listed(client)
    assert all(d["slack_url"] is None for row in rows for d in row["deliveries"])
    assert "slack.com" not in client.get("/alerts").text


def test_people_by_name_not_id(slack_client: TestClient, fake_slack: FakeSlack) -> None:
    rt = runtime(slack_client)
    rows = {row["name"]: row for row in listed(slack_client)}
    db, errors = rows["DatabaseConnectionPoolHigh"], rows["HighErrorRate"]
    assert rt.store.acknowledge_message(db["deliveries"][0]["message"], JANE)
    assert rt.store.acknowledge_message(errors["deliveries"][0]["message"], BOB)  # no name

    rows = {row["name"]: row for row in listed(slack_client)}
    (acked,) = rows["DatabaseConnectionPoolHigh"]["deliveries"]
    assert (acked["acknowledged_by"], acked["acknowledged_by_name"]) == (
        f"slack:{JANE}",
        "Jane Doe",
    )
    html = slack_client.get("/alerts").text
    assert "acknowledged by Jane Doe at " in html
    assert f"acknowledged by Slack user {BOB} at " in html  # Slack knows no name: the id
    assert JANE not in html

    detail = slack_client.get(f"/alerts/{db['id']}").text
    assert "acknowledged by Jane Doe" in detail
    assert JANE not in detail
    (entry,) = [
        e
        for e in slack_client.get(f"/alerts/{db['id']}", headers=JSON).json()["timeline"]
        if e["what"] == "acknowledged"
    ]
    assert (entry["who"], entry["by"]) == (f"slack:{JANE}", "Jane Doe")
    draft = slack_client.get(f"/alerts/{db['id']}/postmortem.md").text
    assert ": acknowledged by Jane Doe" in draft
    assert JANE not in draft
    assert fake_slack.count("users.info") == 2  # once per person, then from the cache


def test_identifying_labels_and_what_tells_alerts_apart(client: TestClient) -> None:
    send(
        client,
        am("NodeDown", instance="n1:9100", rack="r1", team="infra"),
        am("NodeDown", instance="n2:9100", rack="r2", team="infra"),
    )
    rows = [r for r in listed(client) if r["name"] == "NodeDown"]
    # instance is an identity label; rack is not, but it differs; team does not.
    assert sorted(tuple(r["identity"].items()) for r in rows) == [
        (("instance", "n1:9100"), ("rack", "r1")),
        (("instance", "n2:9100"), ("rack", "r2")),
    ]
    html = client.get("/alerts").text
    assert "<code>rack=r1</code>" in html
    assert "team=infra" not in html


def test_since_when(client: TestClient) -> None:
    rows = {row["name"]: row for row in listed(client, state="all")}
    assert rows["HighErrorRate"]["since"] == 1795309200.0  # firing since it started
    assert rows["QueueDepthHigh"]["since"] == 1795309800.0  # resolved since it ended
    assert "for 3h" in client.get("/alerts").text  # the fake clock stands at 04:00


def test_firing_now_is_most_severe_first(client: TestClient) -> None:
    send(client, am("DiskAlmostFull", severity="info"))  # SEV4, and the newest
    levels = [row["decisions"][0]["level"] for row in listed(client)]
    assert levels == ["SEV1", "SEV1", "SEV3", "SEV4"]
    newest_first = [row["name"] for row in listed(client, state="all")]
    assert newest_first[0] == "DiskAlmostFull"  # the history keeps its order
