"""Runbooks that learn, through the app and its dispatcher against the fake Slack: the
checklist Show all steps posts, its ticks and the *Didn't work* form, "Did RUN-001 help?"
after the resolve, and where it all shows (the runbook page, the timeline, the
postmortem draft, ``review``); and the clicks that must not count."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.cli import main
from router.decide import Ruleset
from router.render.buttons import Button
from router.render.mrkdwn import MAX_BLOCKS
from router.runbooks import Runbook
from router.runbooks.model import Step
from router.slackapp import checklist
from router.store import MessageEvent, PostedStep, RunbookPost, Store
from router.store.events import CHECKLIST, DID_NOT_HELP, STEP_DONE, STEP_FAILED, STEP_WRONG
from tests.fakes.slack import FakeSlack, SlackMessage, click_payload, view_submission
from tests.helpers import AUTH, BODY, GOLDEN, AppClients, check_golden, runtime, wait_for
from tests.slack import interaction_body, posted, signed, slack_settings

JANE = "U0JANE0001"
BOB = "U0BOB00001"
RESOLVED = (GOLDEN / "sources/alertmanager/resolved.json").read_bytes()


@dataclass
class World:
    client: TestClient
    slack: FakeSlack
    store: Store
    tmp: Path

    def alert(self) -> SlackMessage:
        """The golden SEV1 DatabaseConnectionPoolHigh (RUN-001), posted to #db-oncall."""
        answer = self.client.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
        assert answer.status_code == 202
        return posted(self.slack, self.store, "#db-oncall")

    def resolve(self) -> None:
        answer = self.client.post("/webhooks/alertmanager", content=RESOLVED, headers=AUTH)
        assert answer.status_code == 202

    def send(self, payload: dict[str, Any]) -> Any:
        body = interaction_body(payload)
        return self.client.post("/slack/interactions", content=body, headers=signed(body))

    def click(
        self, message: SlackMessage, action_id: str, value: str = "x", user: str = JANE
    ) -> int:
        url = self.slack.response_url_prefix + f"T0001/{user}/x"
        payload = click_payload(message, action_id, value, user, response_url=url)
        return int(self.send(payload).status_code)

    def submit(self, user: str, view: dict[str, Any], **typed: str) -> Any:
        return self.send(view_submission(view, user, **typed))

    def reply(self, message: SlackMessage, starts: str) -> SlackMessage:
        """The thread reply whose text starts so, once it is there and recorded."""

        def found() -> list[SlackMessage]:
            return [r for r in self.slack.replies(message) if r.text.startswith(starts)]

        wait_for(lambda: len(found()) == 1, 10, f"the reply {starts!r}")
        (reply,) = found()
        wait_for(
            lambda: self.store.find_post(reply.channel, reply.ts) is not None,
            10,
            "the router to record where it posted it",
        )
        return reply

    def kinds(self) -> list[str]:
        return [e.kind for e in self.store.message_events(1)]

    def settled(self) -> None:
        wait_for(lambda: not self.store.outbox_counts().get("pending"), 10, "nothing pending")


@pytest.fixture
def world(tmp_path: Path, fake_slack: FakeSlack, app_client: AppClients) -> World:
    routes = tmp_path / "routes.yaml"
    text = (Path(slack_settings(tmp_path, fake_slack).config)).read_text()
    routes.write_text(
        text.replace(
            "  stale_after_days: 90",
            "  stale_after_days: 90\n"
            '  source_url: "https://git.example/runbooks/blob/main/{path}#L{line}"',
            1,
        )
    )
    client = app_client(slack_settings(tmp_path, fake_slack, config=str(routes)))
    return World(client, fake_slack, runtime(client).store, tmp_path)


def blocks_of(message: SlackMessage) -> str:
    return json.dumps(message.current_blocks, ensure_ascii=False)


def test_two_people_tick_the_checklist_and_it_shows_everywhere(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    message = world.alert()
    world.click(message, Button.SHOW_STEPS)
    checklist = world.reply(message, "Checklist for RUN-001")
    assert "0 of 4 steps ticked" in blocks_of(checklist)
    assert "Edit RUN-001" in blocks_of(checklist)
    assert "https://git.example/runbooks/blob/main/RUN-001-database" in blocks_of(checklist)

    assert world.click(checklist, Button.STEP_DONE, "RUN-001:1") == 200
    wait_for(lambda: "1 of 4 steps ticked" in blocks_of(checklist), 10, "the first tick shown")
    assert f"*Done* by <@{JANE}>" in blocks_of(checklist)

    assert world.click(checklist, Button.STEP_FAILED, "RUN-001:2", user=BOB) == 200
    wait_for(lambda: bool(world.slack.views), 10, "the form asking what happened")
    (form,) = world.slack.views
    assert form["callback_id"] == "step_failed"
    assert "End long idle-in-transaction sessions" in json.dumps(form["blocks"])
    wait_for(lambda: "2 of 4 steps ticked" in blocks_of(checklist), 10, "the second tick")
    answer = world.submit(BOB, form, reason="pg_terminate_backend needs superuser here")
    assert answer.status_code == 200
    assert answer.content == b""  # the form closes
    wait_for(lambda: "needs superuser" in blocks_of(checklist), 10, "the reason on the checklist")
    shown = blocks_of(checklist)
    assert f"*Didn't work* by <@{BOB}>" in shown
    assert "Fix this step" in shown
    assert world.kinds() == [CHECKLIST, STEP_DONE, STEP_FAILED]

    world.click(message, Button.ACKNOWLEDGE)
    wait_for(lambda: "Acknowledged by" in blocks_of(message), 10, "the acknowledgement")
    world.resolve()
    question = world.reply(message, "Did RUN-001 help?")
    assert world.click(question, Button.DID_NOT_HELP, "RUN-001", user=BOB) == 200
    wait_for(lambda: "👎 1" in blocks_of(question), 10, "the answer on the question")
    assert world.click(question, Button.STEP_WRONG, "RUN-001", user=BOB) == 200
    wait_for(lambda: len(world.slack.views) == 2, 10, "the step-was-wrong form")
    report = world.slack.views[1]
    assert report["callback_id"] == "step_wrong"
    world.submit(BOB, report, step="2", what="Needs the rds_superuser role")
    wait_for(lambda: "rds_superuser" in blocks_of(question), 10, "the report on the question")
    world.settled()
    assert world.kinds()[-2:] == [DID_NOT_HELP, STEP_WRONG]

    page = world.client.get("/runbooks/RUN-001", headers={"Accept": "application/json"}).json()
    use = page["use"]
    assert [(w["days"], w["alerts"], w["incidents"]) for w in use["windows"]] == [
        (30, 1, 1),
        (90, 1, 1),
    ]
    assert use["last_used"] is not None
    assert use["median_ack"] is not None
    assert use["median_resolve"] == pytest.approx(18 * 60 + 30)
    assert use["feedback"] == {"helped": 0, "did_not_help": 1, "steps_wrong": 1}
    (failed,) = use["failed_steps"]
    assert (failed["step"], failed["note"]) == (2, "pg_terminate_backend needs superuser here")
    assert page["edit_url"].startswith("https://git.example/runbooks/blob/main/RUN-001")
    html = world.client.get("/runbooks/RUN-001").text
    assert "Steps marked “didn't work”" in html
    assert "pg_terminate_backend needs superuser here" in html
    assert "Edit runbook" in html

    alert_page = world.client.get("/alerts/1", headers={"Accept": "application/json"}).json()
    said = [e["what"] for e in alert_page["timeline"]]
    assert "RUN-001 checklist posted in the thread" in said
    assert any(w.startswith("step 1 done: Confirm the pool is saturated (") for w in said)
    assert any(
        w.startswith("step 2 didn't work: End long idle-in-transaction sessions")
        and w.endswith("after the previous step): pg_terminate_backend needs superuser here")
        for w in said
    )
    assert "RUN-001 did not help (👎)" in said
    draft = world.client.get("/alerts/1/postmortem.md").text
    assert "## RUN-001's steps, as ticked in Slack" in draft
    assert "- Step 1, Confirm the pool is saturated: done by Slack user U0JANE0001" in draft
    assert "- Step 3, Restart the leaking deployment: not ticked" in draft
    assert "- After the resolve: 0 👍, 1 👎" in draft

    ranked = world.client.get(
        "/runbooks", params={"sort": "negative"}, headers={"Accept": "application/json"}
    ).json()
    assert ranked["runbooks"][0]["id"] == "RUN-001"
    assert world.client.get("/runbooks", params={"sort": "nope"}).status_code == 422

    monkeypatch.setenv("ROUTER_DATABASE_URL", f"sqlite:///{world.tmp}/router.db")
    config = world.client.app.state.runtime.settings  # type: ignore[attr-defined]
    args = ["review", "--format", "json", "--config", config.config, "--runbooks", config.runbooks]
    assert main(args) == 0
    review = json.loads(capsys.readouterr().out)
    assert review["empty"] is False
    (reviewed,) = [r for r in review["runbooks"] if r["id"] == "RUN-001"]
    assert reviewed["use"]["failed_steps"][0]["note"] == "pg_terminate_backend needs superuser here"
    assert reviewed["use"]["feedback"]["did_not_help"] == 1
    assert reviewed["edit_url"].startswith("https://git.example/")
    assert any(f["finding"].startswith("Step 2 (End long") for f in review["findings"])


def test_a_double_click_and_a_replay_are_one_tick(world: World) -> None:
    message = world.alert()
    world.click(message, Button.SHOW_STEPS)
    checklist = world.reply(message, "Checklist for RUN-001")
    world.click(checklist, Button.STEP_DONE, "RUN-001:1")
    world.click(checklist, Button.STEP_DONE, "RUN-001:1")  # a double click: another request
    payload = click_payload(checklist, "step_skipped", "RUN-001:3", BOB)
    body = interaction_body(payload)
    headers = signed(body)
    for _ in range(2):  # the same signed request twice (Slack's retry, or a replay)
        assert (
            world.client.post("/slack/interactions", content=body, headers=headers).status_code
            == 200
        )
    world.settled()
    assert world.kinds() == [CHECKLIST, STEP_DONE, "step_skipped"]
    world.click(checklist, Button.STEP_FAILED, "RUN-001:1", user=BOB)  # a correction counts
    world.settled()
    assert world.kinds()[-1] == STEP_FAILED


def test_a_second_show_all_steps_points_at_the_checklist(world: World) -> None:
    message = world.alert()
    world.click(message, Button.SHOW_STEPS)
    world.reply(message, "Checklist for RUN-001")
    world.click(message, Button.SHOW_STEPS, user=BOB)
    wait_for(lambda: bool(world.slack.responses), 10, "the answer to the second clicker")
    assert "already in this thread" in world.slack.responses[0]["text"]
    assert "archives/" in world.slack.responses[0]["text"]
    assert len(world.slack.replies(message)) == 1


@pytest.mark.parametrize(
    ("on", "action_id", "value"),
    [
        ("checklist", "step_done", "RUN-001:9"),  # no step 9
        ("checklist", "step_done", "RUN-002:1"),  # a step of another runbook
        ("checklist", "step_done", "RUN-001:0"),
        ("alert", "step_done", "RUN-001:1"),  # not a checklist
        ("checklist", "runbook_did_not_help", "RUN-001"),  # a vote on the checklist
        ("alert", "runbook_helped", "RUN-001"),
        ("alert", "step_wrong", "RUN-001"),
    ],
)
def test_clicks_that_do_not_count_record_nothing(
    world: World, on: str, action_id: str, value: str
) -> None:
    message = world.alert()
    world.click(message, Button.SHOW_STEPS)
    checklist = world.reply(message, "Checklist for RUN-001")
    world.settled()
    before = (world.kinds(), world.store.outbox_counts())
    target = checklist if on == "checklist" else message
    assert world.click(target, action_id, value) == 200
    assert (world.kinds(), world.store.outbox_counts()) == before
    assert world.slack.views == []


@pytest.mark.parametrize(
    ("action_id", "value"),
    [("step_done", "RUN-001"), ("step_done", "1; DROP"), ("runbook_helped", "<!channel>")],
)
def test_a_malformed_value_is_refused(world: World, action_id: str, value: str) -> None:
    message = world.alert()
    world.click(message, Button.SHOW_STEPS)
    checklist = world.reply(message, "Checklist for RUN-001")
    world.settled()
    before = world.kinds()
    assert world.click(checklist, action_id, value) == 400
    assert world.kinds() == before


def test_a_reason_counts_once_and_only_from_who_ticked(world: World) -> None:
    message = world.alert()
    world.click(message, Button.SHOW_STEPS)
    checklist = world.reply(message, "Checklist for RUN-001")
    world.click(checklist, Button.STEP_FAILED, "RUN-001:2", user=BOB)
    wait_for(lambda: bool(world.slack.views), 10, "the form")
    (form,) = world.slack.views
    assert world.submit(JANE, form, reason="not my tick").status_code == 200
    empty = world.submit(BOB, form, reason="   ")
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"reason": "Say in a few words what happened."},
    }
    world.submit(BOB, form, reason="the first words")
    world.submit(BOB, form, reason="other words later")
    forged = dict(form, private_metadata="999")
    world.submit(BOB, forged, reason="no such tick")
    unknown = dict(form, callback_id="someone_elses_form")
    assert world.submit(BOB, unknown, reason="x").status_code == 200
    world.settled()
    notes = [e.note for e in world.store.message_events(1) if e.kind == STEP_FAILED]
    assert notes == ["the first words"]


def test_a_form_slack_would_not_open_leaves_the_tick_and_says_so(world: World) -> None:
    world.slack.expired_triggers.add("13345224609.738474920.8088930838d88f008e0")
    message = world.alert()
    world.click(message, Button.SHOW_STEPS)
    checklist = world.reply(message, "Checklist for RUN-001")
    world.click(checklist, Button.STEP_FAILED, "RUN-001:4")
    wait_for(lambda: bool(world.slack.responses), 10, "the word to the clicker")
    assert "expired_trigger_id" in world.slack.responses[0]["text"]
    assert world.kinds()[-1] == STEP_FAILED
    wait_for(lambda: "(no reason given yet)" in blocks_of(checklist), 10, "the tick shown")


def test_no_question_after_a_resolve_nobody_acknowledged(world: World) -> None:
    message = world.alert()
    world.resolve()
    wait_for(
        lambda: any(r.text.startswith("✅") for r in world.slack.replies(message)), 10, "resolved"
    )
    world.settled()
    assert not [r for r in world.slack.replies(message) if r.text.startswith("Did ")]
    assert world.store.message_post(1, "feedback") is None


def test_a_vote_changes_with_a_second_answer_and_counts_once_per_person(world: World) -> None:
    message = world.alert()
    world.click(message, Button.ACKNOWLEDGE)
    wait_for(lambda: "Acknowledged by" in blocks_of(message), 10, "the acknowledgement")
    world.resolve()
    question = world.reply(message, "Did RUN-001 help?")
    for vote in (Button.HELPED, Button.HELPED, Button.DID_NOT_HELP):
        world.click(question, vote, "RUN-001")
    world.click(question, Button.HELPED, "RUN-001", user=BOB)
    world.settled()
    assert [e.kind for e in world.store.message_events(1) if e.kind.startswith("feedback")] == [
        "feedback_up",
        "feedback_down",
        "feedback_up",
    ]
    wait_for(lambda: "👍 1 · 👎 1" in blocks_of(question), 10, "the answers so far")
    use = world.client.get("/runbooks/RUN-001", headers={"Accept": "application/json"}).json()
    assert use["use"]["feedback"] == {"helped": 1, "did_not_help": 1, "steps_wrong": 0}
    assert world.click(question, Button.HELPED, "RUN-002") == 200  # another runbook's: nothing
    world.settled()
    assert len([e for e in world.store.message_events(1) if e.kind.startswith("feedback")]) == 3


# -- the checklist message at each state, golden ------------------------------------------

T0 = 1_795_320_000.0  # 2026-11-22 01:20 UTC
STATES: list[tuple[str, list[MessageEvent]]] = [
    ("posted", []),
    (
        "one-done",
        [
            MessageEvent(
                STEP_DONE, T0 + 130, f"slack:{JANE}", "Confirm the pool is saturated", 1, id=2
            )
        ],
    ),
    (
        "failed-no-reason",
        [
            MessageEvent(
                STEP_DONE, T0 + 130, f"slack:{JANE}", "Confirm the pool is saturated", 1, id=2
            ),
            MessageEvent(
                STEP_FAILED,
                T0 + 400,
                f"slack:{BOB}",
                "End long idle-in-transaction sessions",
                2,
                id=3,
            ),
        ],
    ),
    (
        "failed-with-reason",
        [
            MessageEvent(
                STEP_DONE, T0 + 130, f"slack:{JANE}", "Confirm the pool is saturated", 1, id=2
            ),
            MessageEvent(
                STEP_FAILED,
                T0 + 400,
                f"slack:{BOB}",
                "End long idle-in-transaction sessions",
                2,
                "pg_terminate_backend needs superuser <here> & now",
                id=3,
            ),
        ],
    ),
    (
        "all-ticked",
        [
            MessageEvent(
                STEP_DONE, T0 + 130, f"slack:{JANE}", "Confirm the pool is saturated", 1, id=2
            ),
            MessageEvent(
                STEP_FAILED,
                T0 + 400,
                f"slack:{BOB}",
                "End long idle-in-transaction sessions",
                2,
                "pg_terminate_backend needs superuser <here> & now",
                id=3,
            ),
            MessageEvent(
                STEP_DONE, T0 + 700, f"slack:{JANE}", "Restart the leaking deployment", 3, id=4
            ),
            MessageEvent(
                "step_skipped", T0 + 760, f"slack:{BOB}", "Raise the PgBouncer pool", 4, id=5
            ),
        ],
    ),
]


def _post(runbook: Runbook) -> RunbookPost:
    steps = tuple(PostedStep(s.number, s.title) for s in runbook.steps)
    return RunbookPost(1, 1, "checklist", runbook.id, steps, "1700000000.000200", 1, T0)


@pytest.mark.parametrize(("state", "events"), STATES, ids=[s for s, _ in STATES])
def test_checklist_message_golden(ruleset: Ruleset, state: str, events: list[MessageEvent]) -> None:
    runbook = ruleset.catalog.get("RUN-001")
    assert runbook is not None
    posted_at = MessageEvent(CHECKLIST, T0, f"slack:{JANE}", "RUN-001", id=1)
    rendered = checklist.render(
        _post(runbook),
        runbook,
        [posted_at, *events],
        asked_by=f"slack:{JANE}",
        label_sets=[{"alertname": "DatabaseConnectionPoolHigh", "env": "prod"}],
        more_url="https://router.example/alerts/1",
        edit_url=lambda line: f"https://git.example/runbooks/blob/main/{runbook.path}#L{line or 1}",
    )
    assert len(rendered.blocks) <= MAX_BLOCKS
    out = {"text": rendered.text, "blocks": rendered.blocks}
    check_golden(
        GOLDEN / f"slack/checklist-{state}.json",
        json.dumps(out, indent=2, ensure_ascii=False) + "\n",
    )
    assert "<here>" not in json.dumps(rendered.blocks)  # what people type is escaped


def _long_runbook(steps: int) -> Runbook:
    return Runbook(
        id="RUN-077",
        number=77,
        title="A very long procedure",
        path="RUN-077.md",
        steps=[
            Step(number=n, title=f"Step number {n}", line=10 + n, text=["x" * 2900])
            for n in range(1, steps + 1)
        ],
    )


@pytest.mark.parametrize("steps", [24, 25, 48, 49, 120])
def test_a_long_checklist_still_fits_slack(steps: int) -> None:
    runbook = _long_runbook(steps)
    events = [
        MessageEvent(STEP_DONE, T0 + n, "slack:U0JANE0001", f"Step number {n}", n, id=n)
        for n in range(1, steps + 1)
    ]
    rendered = checklist.render(_post(runbook), runbook, events, asked_by=None)
    assert len(rendered.blocks) <= MAX_BLOCKS
    for block in rendered.blocks:
        assert len(block.get("elements", [])) <= 25
        assert len(block.get("text", {}).get("text", "")) <= 3000
    assert sum(len(b.get("text", {}).get("text", "")) for b in rendered.blocks) < 40_000
    buttons = [b for b in rendered.blocks if b["type"] == "actions"]
    menus = [b for b in rendered.blocks if "accessory" in b]
    if steps <= 24:
        assert (len(buttons), len(menus)) == (steps, 0)
    else:
        assert buttons == []
        assert len(menus) == min(steps, 48 if steps <= 48 else 47)
    if steps > 48:
        rest = ", ".join(str(n) for n in range(48, steps + 1))
        assert f"…and steps {rest}: in the runbook." in json.dumps(
            rendered.blocks, ensure_ascii=False
        )
    assert f"{steps} of {steps} steps ticked" in rendered.text


def test_a_tick_from_the_menu_of_a_long_checklist_counts(world: World) -> None:
    message = world.alert()
    world.click(message, Button.SHOW_STEPS)
    checklist_message = world.reply(message, "Checklist for RUN-001")
    option = {"text": {"type": "plain_text", "text": "Done"}, "value": "step_done RUN-001:4"}
    payload = click_payload(checklist_message, "step_tick", "", JANE)
    payload["actions"] = [{"type": "overflow", "action_id": "step_tick", "selected_option": option}]
    assert world.send(payload).status_code == 200
    world.settled()
    assert world.kinds()[-1] == STEP_DONE
