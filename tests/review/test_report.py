"""``runbook-router review``: the quarterly template filled in from a store (golden), its
JSON, and an empty database said plainly."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from router.cli import main
from router.decide import Ruleset
from router.review.report import markdown, next_review, review
from router.slackapp.checklist import posted_steps
from router.store import FeedbackQuestion, Store
from router.store.events import DID_NOT_HELP, HELPED, STEP_DONE, STEP_FAILED, STEP_SKIPPED
from tests.fakes.clock import FakeClock
from tests.helpers import GOLDEN, ROUTES, RUNBOOKS, check_golden, make_alert

ARGS = ["--config", str(ROUTES), "--runbooks", str(RUNBOOKS)]
JANE, BOB = "slack:U0JANE0001", "slack:U0BOB00001"
MINUTE = 60.0


def _incident(store: Store, ruleset: Ruleset, clock: FakeClock, n: int, *, ticks: bool) -> None:
    """One DatabaseConnectionPoolHigh group (RUN-001): posted, perhaps ticked, acknowledged,
    resolved after 20 minutes, with feedback."""
    start = clock.now()
    group = f"pool-{n}"
    starts = _iso(start)
    firing = make_alert(env="prod", group_key=group, instance=f"db-{n}", starts_at=starts)
    store.ingest([(firing, ruleset.decide(firing))])
    message_id = n  # messages are numbered as they come
    store.record_posted(message_id, "C0DBONCALL", f"1700000000.{n:06d}")
    runbook = ruleset.catalog.get("RUN-001")
    assert runbook is not None
    if ticks:
        post, _ = store.open_checklist(message_id, "RUN-001", posted_steps(runbook, []), "a:1")
        store.checklist_posted(post, f"1700000001.{n:06d}", JANE)
        clock.advance(2 * MINUTE)
        store.record_tick(post.id, 1, STEP_DONE, JANE)
        clock.advance(3 * MINUTE)
        failed = store.record_tick(post.id, 2, STEP_FAILED, BOB)
        assert failed is not None
        store.note_step(failed, BOB, "pg_terminate_backend needs superuser on RDS")
        store.record_tick(post.id, 4, STEP_SKIPPED, BOB)
    store.acknowledge_message(message_id, "U0JANE0001")
    clock.t = start + 20 * MINUTE
    ended = make_alert(
        env="prod", group_key=group, instance=f"db-{n}", status="resolved",
        starts_at=starts, ends_at=_iso(clock.now()),
    )  # fmt: skip
    store.ingest([(ended, ruleset.decide(ended))])
    steps = posted_steps(runbook, [])
    store.record_resolve_notified(message_id, FeedbackQuestion("RUN-001", steps))
    question = store.message_post(message_id, "feedback")
    assert question is not None
    store.record_vote(question.id, DID_NOT_HELP if ticks else HELPED, BOB)
    if ticks:
        store.record_step_report(question.id, 2, BOB, "It needs the rds_superuser role")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def test_the_review_golden(store: Store, ruleset: Ruleset, clock: FakeClock) -> None:
    clock.t = 1_795_320_000.0 - 10 * 86400  # ten days before "now"
    _incident(store, ruleset, clock, 1, ticks=True)
    clock.advance(86400)
    _incident(store, ruleset, clock, 2, ticks=False)
    for instance in ("a", "b", "c"):
        mystery = make_alert("MysteryLatencyHigh", group_key="mystery", instance=instance)
        store.ingest([(mystery, ruleset.decide(mystery))])
    now = 1_795_320_000.0
    since = now - 90 * 86400
    report = review(
        ruleset.catalog,
        store.use_facts(since),
        store.unrouted(since),
        store.last_used(),
        now=now,
        period_days=90,
        stale_after_days=90,
        database="SQLite router.db",
        source_url=lambda rb, line: (
            f"https://git.example/runbooks/blob/main/{rb.path}#L{line or rb.first_line}"
        ),
    )
    check_golden(GOLDEN / "review/review.md", markdown(report))
    data = report.model_dump(mode="json")
    (pool,) = [r for r in data["runbooks"] if r["id"] == "RUN-001"]
    assert pool["use"]["windows"] == [{"days": 90, "alerts": 2, "incidents": 2}]
    assert pool["use"]["median_resolve"] == 20 * MINUTE
    assert pool["use"]["feedback"] == {"helped": 1, "did_not_help": 1, "steps_wrong": 1}
    assert [n["note"] for n in pool["use"]["failed_steps"]] == [
        "pg_terminate_backend needs superuser on RDS"
    ]
    assert data["without_runbook"] == [{"name": "MysteryLatencyHigh", "alerts": 3, "incidents": 1}]
    assert "RUN-002" in data["unused"]
    assert "RUN-001" not in data["unused"]
    assert data["next_review"] == "2027-02-22"
    assert data["empty"] is False
    json.dumps(data)  # all of it JSON


def test_an_empty_database_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("ROUTER_DATABASE_URL", f"sqlite:///{tmp_path}/none.db")
    assert main(["review", *ARGS]) == 0
    out, err = capsys.readouterr()
    assert "**The database has no alerts from these 90 days**" in out
    assert err.strip().endswith("has no alerts from the last 90 days")
    assert not (tmp_path / "none.db").exists()  # read, never made
    Store.from_url(f"sqlite:///{tmp_path}/none.db").create_schema()  # tables, no alerts
    assert main(["review", "--format", "json", "--since", "30d", *ARGS]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["empty"], data["period_days"], data["unused"]) == (True, 30, [])
    assert not [f for f in data["findings"] if "was not used" in f["finding"]]


def test_review_refuses_what_it_cannot_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(["review", "--since", "soon", *ARGS]) == 2
    assert "--since 'soon'" in capsys.readouterr().err
    assert main(["review", "--since", "1h", *ARGS]) == 2
    path = tmp_path / "router.db"
    Store.from_url(f"sqlite:///{path}").create_schema()
    with sa.create_engine(f"sqlite:///{path}").begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0009'"))
    monkeypatch.setenv("ROUTER_DATABASE_URL", f"sqlite:///{path}")
    assert main(["review", *ARGS]) == 1
    assert "run `runbook-router migrate`" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("today", "then"),
    [("2026-11-22", "2027-02-22"), ("2026-11-30", "2027-02-28"), ("2027-12-31", "2028-03-31")],
)
def test_the_next_review_is_three_months_on(today: str, then: str) -> None:
    assert next_review(date.fromisoformat(today)).isoformat() == then
