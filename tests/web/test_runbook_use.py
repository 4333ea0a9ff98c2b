"""The runbook pages' use: /runbooks/RUN-001 shows it, /runbooks sorts by it (stored facts
through the store, an injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.slackapp.checklist import posted_steps
from router.store import FeedbackQuestion, Store
from router.store.events import DID_NOT_HELP, STEP_FAILED
from tests.fakes.clock import FakeClock
from tests.helpers import ROUTES, AppClients, make_alert

JSON = {"Accept": "application/json"}
DAY = 86400.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(tmp_path: Path, clock: FakeClock, app_client: AppClients) -> TestClient:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        ROUTES.read_text().replace(
            "  stale_after_days: 90",
            '  stale_after_days: 90\n  source_url: "https://git.example/rb/{path}#L{line}"',
            1,
        )
    )
    return app_client(run_dispatcher=False, clock=clock, config=str(routes))


def _store(client: TestClient) -> Store:
    store: Store = client.app.state.runtime.store  # type: ignore[attr-defined]
    return store


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _fire(
    client: TestClient, clock: FakeClock, message_id: int, name: str, days_ago: float
) -> None:
    """Message ``message_id`` (they are numbered as they come): an alert that fired
    ``days_ago``, acknowledged after a minute, resolved after ten."""
    store = _store(client)
    ruleset = client.app.state.runtime.ruleset  # type: ignore[attr-defined]
    now = clock.now()
    clock.t = now - days_ago * DAY
    starts = _iso(clock.now())
    firing = make_alert(name, env="prod", group_key=f"g{message_id}", starts_at=starts)
    store.ingest([(firing, ruleset.decide(firing))])
    clock.advance(60)
    store.acknowledge_message(message_id, "U0JANE0001")
    clock.advance(540)
    ended = make_alert(
        name, env="prod", group_key=f"g{message_id}", starts_at=starts, status="resolved",
        ends_at=_iso(clock.now()),
    )  # fmt: skip
    store.ingest([(ended, ruleset.decide(ended))])
    clock.t = now


def test_the_page_shows_use_feedback_and_the_steps_that_did_not_work(
    client: TestClient, clock: FakeClock
) -> None:
    store = _store(client)
    ruleset = client.app.state.runtime.ruleset  # type: ignore[attr-defined]
    runbook = ruleset.catalog.get("RUN-001")
    _fire(client, clock, 1, "DatabaseConnectionPoolHigh", days_ago=50)
    _fire(client, clock, 2, "DatabaseConnectionPoolHigh", days_ago=3)
    store.record_posted(2, "C0DB", "1700000000.000100")
    post, _ = store.open_checklist(2, "RUN-001", posted_steps(runbook, []), "a:1")
    store.checklist_posted(post, "1700000000.000200", "slack:U0JANE0001")
    failed = store.record_tick(post.id, 3, STEP_FAILED, "slack:U0BOB00001")
    assert failed is not None
    store.note_step(failed, "slack:U0BOB00001", "the <deployment> is called api-v2 now")
    store.record_resolve_notified(2, FeedbackQuestion("RUN-001", posted_steps(runbook, [])))
    question = store.message_post(2, "feedback")
    assert question is not None
    store.record_vote(question.id, DID_NOT_HELP, "slack:U0BOB00001")

    use = client.get("/runbooks/RUN-001", headers=JSON).json()["use"]
    assert [(w["days"], w["alerts"], w["incidents"]) for w in use["windows"]] == [
        (30, 1, 1),
        (90, 2, 2),
    ]
    assert (use["median_ack"], use["median_resolve"]) == (60, 600)
    assert use["feedback"] == {"helped": 0, "did_not_help": 1, "steps_wrong": 0}
    html = client.get("/runbooks/RUN-001").text
    assert "1 in 30 days · 2 in 90 days" in html
    assert "1m (median of 2)" in html
    assert "“the &lt;deployment&gt; is called api-v2 now”" in html  # escaped
    assert 'href="https://git.example/rb/RUN-001-database-connection-pool-exhaustion.md#L1"' in html
    assert "edit the step" in html
    quiet = client.get("/runbooks/RUN-008").text
    assert "never" in quiet
    assert "none acknowledged" in quiet


def test_runbooks_sort_by_last_used_and_by_negative_feedback(
    client: TestClient, clock: FakeClock
) -> None:
    store = _store(client)
    _fire(client, clock, 1, "DatabaseConnectionPoolHigh", days_ago=20)  # RUN-001
    _fire(client, clock, 2, "QueueDepthHigh", days_ago=2)  # RUN-005
    store.record_resolve_notified(1, FeedbackQuestion("RUN-001", ()))
    question = store.message_post(1, "feedback")
    assert question is not None
    store.record_vote(question.id, DID_NOT_HELP, "slack:U0BOB00001")

    def order(sort: str) -> list[str]:
        body = client.get("/runbooks", params={"sort": sort}, headers=JSON).json()
        return [r["id"] for r in body["runbooks"]]

    assert order("last_used")[:2] == ["RUN-005", "RUN-001"]
    assert order("negative")[:2] == ["RUN-001", "RUN-005"]
    html = client.get("/runbooks", params={"sort": "negative"}).text
    assert "<strong>most negative feedback first</strong>" in html
    assert html.index("RUN-001: Database") < html.index("RUN-005: High Queue")
    assert "👎 1" in html
    bad = client.get("/runbooks", params={"sort": "worst"}, headers=JSON)
    assert bad.status_code == 422
    assert bad.json() == {"error": "sort: 'worst': one of category, last_used, negative"}
