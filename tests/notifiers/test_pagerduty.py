"""PagerDuty REST notes and Events API v2, through the real `pagerduty` client on a mock transport."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

from router.decide import Ruleset
from router.deliveries import register_all
from router.dispatcher import Dispatcher
from router.errors import DeliveryError, Reason
from router.metrics import Metrics
from router.notifiers.pagerduty import (
    PagerDuty,
    Trigger,
    alert_trigger,
    dedup_key,
    event_severity,
    note_text,
    responders,
    unacknowledged_trigger,
)
from router.records import StoredDecision
from router.render.message import MessageRenderer
from router.sources import pagerduty as pd_source
from router.store import IngestPolicy, Store
from tests.fakes.clock import FakeClock
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.pagerduty import FakePagerDuty
from tests.helpers import GOLDEN, RUNBOOKS, make_alert

TRIGGERED = json.loads((GOLDEN / "sources/pagerduty/incident-triggered.json").read_text())


@pytest.fixture
def fake_pd() -> FakePagerDuty:
    return FakePagerDuty()


@pytest.fixture
def client(fake_pd: FakePagerDuty) -> PagerDuty:
    return PagerDuty(
        "pd-api-token",
        "router@example.com",
        {"database": "R0UT1NGKEY0000000000000000000001"},
        transport=httpx2.MockTransport(fake_pd.handler),
    )


def test_note_request(client: PagerDuty, fake_pd: FakePagerDuty) -> None:
    client.add_note("Q2HMW5ZJ3KX0QR", "Runbook RUN-007")
    (request,) = fake_pd.requests
    assert (request.method, str(request.url)) == (
        "POST",
        "https://api.pagerduty.com/incidents/Q2HMW5ZJ3KX0QR/notes",
    )
    assert request.headers["Authorization"] == "Token token=pd-api-token"
    assert request.headers["From"] == "router@example.com"
    assert json.loads(request.content) == {"note": {"content": "Runbook RUN-007"}}


def test_event_request(client: PagerDuty, fake_pd: FakePagerDuty) -> None:
    client.send_event("database", "resolve", "runbook-router:alertmanager:abc")
    (body,) = fake_pd.bodies("/v2/enqueue")
    assert body == {
        "event_action": "resolve",
        "dedup_key": "runbook-router:alertmanager:abc",
        "routing_key": "R0UT1NGKEY0000000000000000000001",
    }


@pytest.mark.parametrize(
    ("status", "headers", "reason", "retryable", "retry_after"),
    [
        (429, {"ratelimit-reset": "12"}, Reason.RATE_LIMITED, True, 12.0),
        (500, {}, Reason.UNAVAILABLE, True, None),
        (503, {}, Reason.UNAVAILABLE, True, None),
        (401, {}, Reason.AUTH, False, None),
        (404, {}, Reason.NOT_FOUND, False, None),
        (400, {}, Reason.INVALID_MESSAGE, False, None),
    ],
)
def test_failures_are_classified_without_waiting_in_the_client(
    client: PagerDuty,
    fake_pd: FakePagerDuty,
    status: int,
    headers: dict[str, str],
    reason: Reason,
    retryable: bool,
    retry_after: float | None,
) -> None:
    fake_pd.script = [(status, headers)] * 3
    with pytest.raises(DeliveryError) as caught:
        client.add_note("Q1", "x")
    err = caught.value
    assert (err.reason, err.retryable, err.retry_after) == (reason, retryable, retry_after)
    assert len(fake_pd.requests) <= 2  # at most one immediate retry inside the client
    assert "pd-api-token" not in str(err)


def test_network_error_is_retryable() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    client = PagerDuty("t", None, {}, transport=httpx2.MockTransport(refuse))
    with pytest.raises(DeliveryError) as caught:
        client.add_note("Q1", "x")
    assert (caught.value.reason, caught.value.retryable) == (Reason.UNAVAILABLE, True)


def test_who_is_on_call_asks_oncalls_with_users(client: PagerDuty, fake_pd: FakePagerDuty) -> None:
    fake_pd.on_call("PSCHED1", "Jane Doe", "jane@example.com")
    (jane,) = client.on_call(schedule="PSCHED1")
    assert (jane.name, jane.email, jane.level, jane.schedule) == (
        "Jane Doe",
        "jane@example.com",
        1,
        "Database Primary",
    )
    assert jane.end is not None
    assert jane.start is not None
    assert jane.end - jane.start == 7 * 86400
    request = fake_pd.requests[-1]
    assert request.url.path == "/oncalls"
    assert request.url.params.get_list("schedule_ids[]") == ["PSCHED1"]
    assert request.headers["Authorization"] == "Token token=pd-api-token"


def test_on_call_entries_that_are_not_what_pagerduty_sends_are_left_out() -> None:
    body = {
        "oncalls": [
            "a string",
            {"user": "not an object"},
            {"user": {"summary": "Ann"}, "start": "yesterday", "escalation_level": True},
            {"user": {"name": "Bo", "email": "no-at-sign"}, "schedule": None},
        ]
    }
    ann, bo = responders(body)
    assert (ann.name, ann.start, ann.level, ann.email) == ("Ann", None, 1, None)
    assert (bo.name, bo.email, bo.schedule) == ("Bo", None, None)
    assert responders({"oncalls": "x"}) == []
    assert responders([]) == []


def test_note_text(ruleset: Ruleset) -> None:
    decision = StoredDecision(
        **{
            "route": "db-pool",
            "channel": "#db-oncall",
            "level": "SEV1",
            "respond": "< 5 min",
            "reason": "route 'db-pool' sets SEV1",
            "runbook": "RUN-001",
            "runbook_title": "Database Connection Pool Exhaustion",
            "runbook_url": "http://localhost:8080/runbooks/RUN-001",
        }
    )
    text = note_text(decision, ruleset.catalog.get("RUN-001"))
    assert text.splitlines()[:4] == [
        "Runbook RUN-001: Database Connection Pool Exhaustion",
        "http://localhost:8080/runbooks/RUN-001",
        "SEV1 (respond < 5 min): route 'db-pool' sets SEV1",
        "First step: Confirm the pool is saturated",
    ]
    assert text.endswith("Posted to Slack #db-oncall by runbook-router.")


# -- through the outbox ---------------------------------------------------------------


class Setup:
    def __init__(
        self, tmp_path: Path, ruleset: Ruleset, clock: FakeClock, fake_pd: FakePagerDuty
    ) -> None:
        self.ruleset = ruleset
        self.clock = clock
        self.fake = fake_pd
        self.store = Store.from_url(f"sqlite:///{tmp_path}/router.db", clock)
        self.store.create_schema()
        data = ruleset.config.data
        renderer = MessageRenderer(
            ruleset.catalog, data.severity.levels, data.defaults.stale_after_days
        )
        self.pagerduty = PagerDuty(
            "pd-api-token",
            "router@example.com",
            {"database": "R0UT1NGKEY0000000000000000000001"},
            transport=httpx2.MockTransport(fake_pd.handler),
        )
        self.slack = RecordingNotifier()
        metrics = Metrics()
        self.dispatcher = Dispatcher(self.store, metrics, clock=clock, rng=random.Random(3))
        register_all(
            self.dispatcher,
            self.store,
            self.slack,
            lambda: renderer,
            metrics,
            pagerduty=self.pagerduty,
        )

    def send(self, body: dict[str, Any], decide: Callable[..., Any] | None = None) -> None:
        alerts = pd_source.parse(body)
        self.store.ingest(
            [(a, (decide or self.ruleset.decide)(a)) for a in alerts],
            policy=IngestPolicy(pagerduty_notes=True),
        )

    def run_for(self, seconds: float) -> None:
        for _ in range(int(seconds)):
            self.dispatcher.dispatch_due()
            self.clock.advance(1)


@pytest.fixture
def setup(tmp_path: Path, ruleset: Ruleset, clock: FakeClock, fake_pd: FakePagerDuty) -> Setup:
    return Setup(tmp_path, ruleset, clock, fake_pd)


def _with_runbook(body: dict[str, Any]) -> dict[str, Any]:
    """The incident's title names an alert that routes to RUN-007 in routes.yaml."""
    body = json.loads(json.dumps(body))
    body["event"]["data"]["title"] = "UpstreamTimeouts"
    return body


def test_routed_incident_gets_one_note_through_429_and_5xx(setup: Setup) -> None:
    setup.fake.script = [(429, {"retry-after": "5"}), (429, {"retry-after": "5"}), (502, {})]
    setup.send(_with_runbook(TRIGGERED))
    setup.run_for(120)
    notes = setup.fake.bodies("/notes")
    assert len(notes) == 4  # 429 (+1 retry in the client), 502, then the one that landed
    assert notes[-1]["note"]["content"].startswith("Runbook RUN-007: External API Timeouts")
    # Repeats, acknowledgement and a reopen never add a second note.
    for name in ("incident-acknowledged", "incident-resolved", "incident-reopened"):
        setup.send(
            _with_runbook(json.loads((GOLDEN / f"sources/pagerduty/{name}.json").read_text()))
        )
    setup.run_for(10)
    assert len(setup.fake.bodies("/notes")) == 4
    assert setup.store.outbox_counts().get("pending", 0) == 0


def test_unrouted_incident_gets_no_note(setup: Setup) -> None:
    body = json.loads(json.dumps(TRIGGERED))
    body["event"]["data"]["title"] = "Something nobody wrote a runbook for"
    body["event"]["data"]["service"]["summary"] = "Billing"
    setup.send(body)
    setup.run_for(3)
    assert setup.fake.bodies("/notes") == []


def test_page_route_triggers_then_resolves_with_a_stable_dedup_key(
    setup: Setup, tmp_path: Path
) -> None:
    from router.decide import load_ruleset

    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n"
        "  - {name: db, matchers: ['alertname=\"DatabaseConnectionPoolHigh\"'], runbook: RUN-001,\n"
        "     channel: '#db', page: database}\n",
        encoding="utf-8",
    )
    rules = load_ruleset(routes, RUNBOOKS)
    firing = make_alert(env="prod", severity="critical", instance="db-1", summary="pool at 96%")
    setup.fake.script = [(500, {})]
    setup.store.ingest([(firing, rules.decide(firing))])
    setup.run_for(5)
    setup.store.ingest([(firing, rules.decide(firing))])  # a repeat pages nothing new
    resolved = make_alert(env="prod", severity="critical", instance="db-1", status="resolved")
    setup.store.ingest([(resolved, rules.decide(resolved))])
    setup.run_for(5)
    events = setup.fake.bodies("/v2/enqueue")
    assert [e["event_action"] for e in events] == ["trigger", "trigger", "resolve"]
    key = dedup_key("alertmanager", firing.fingerprint)
    assert {e["dedup_key"] for e in events} == {key}
    trigger = events[1]
    assert trigger["payload"]["summary"] == "[SEV2] DatabaseConnectionPoolHigh: pool at 96%"
    assert trigger["payload"]["severity"] == "error"
    assert trigger["payload"]["source"] == "db-1"
    assert trigger["links"] == [  # the default runbook_url, at serve's default address
        {"href": "http://127.0.0.1:8080/runbooks/RUN-001", "text": "Runbook RUN-001"}
    ]
    assert trigger["routing_key"] == "R0UT1NGKEY0000000000000000000001"


def test_pagerduty_incidents_are_never_paged_back(setup: Setup, tmp_path: Path) -> None:
    from router.decide import load_ruleset

    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  - {name: all, channel: '#x', page: database}\n", encoding="utf-8")
    rules = load_ruleset(routes, RUNBOOKS)
    setup.send(TRIGGERED, rules.decide)
    setup.run_for(3)
    assert setup.fake.bodies("/v2/enqueue") == []


# -- the one event builder --------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "severity"),
    [("SEV0", "critical"), ("SEV1", "critical"), ("SEV2", "error"), ("SEV3", "warning"),
     ("SEV4", "info")],
)  # fmt: skip
def test_an_alerts_page_and_an_unacknowledged_page_share_one_severity_map(
    setup: Setup, tmp_path: Path, level: str, severity: str
) -> None:
    from router.decide import load_ruleset

    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n"
        "  - {name: db, matchers: ['alertname=\"DatabaseConnectionPoolHigh\"'], runbook: RUN-001,\n"
        f"     channel: '#db', page: database, severity: {level}}}\n",
        encoding="utf-8",
    )
    rules = load_ruleset(routes, RUNBOOKS)
    firing = make_alert(env="prod", instance="db-1")
    setup.store.ingest([(firing, rules.decide(firing))])
    alert, view = setup.store.load_alert(1), setup.store.load_message(1)
    assert alert is not None
    assert view is not None
    assert alert_trigger(alert, alert.decisions[0]).severity == severity
    unacknowledged = unacknowledged_trigger(view)
    assert unacknowledged.severity == severity
    assert unacknowledged.properties() == {
        "payload": {
            "summary": f"[{level}] Not acknowledged in Slack: DatabaseConnectionPoolHigh",
            "source": "runbook-router",
            "severity": severity,
            "custom_details": {"channel": "#db", "route": "db"},
        },
        "links": [{"href": "http://127.0.0.1:8080/runbooks/RUN-001", "text": "Runbook"}],
    }


def test_a_level_off_the_scale_is_a_warning_and_a_trigger_without_links_has_none() -> None:
    assert event_severity("SEV9") == "warning"
    event = Trigger("x" * 2000, "db-1", "SEV9", {}, event_class="y" * 300)
    properties = event.properties()
    assert set(properties) == {"payload"}
    assert len(properties["payload"]["summary"]) == 1024
    assert len(properties["payload"]["class"]) == 255
