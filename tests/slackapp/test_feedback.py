""" "Did RUN-001 help?" and the forms, as Block Kit goldens (the flow is in test_checklist.py)."""

from __future__ import annotations

import json

import pytest

from router.decide import Ruleset
from router.slackapp import checklist, feedback
from router.store import MessageEvent, PostedStep, RunbookPost
from router.store.events import DID_NOT_HELP, HELPED, STEP_WRONG
from tests.helpers import GOLDEN, check_golden

T0 = 1_795_320_000.0
EDIT = "https://git.example/runbooks/blob/main/RUN-001-database-connection-pool-exhaustion.md#L1"


def _question(ruleset: Ruleset) -> RunbookPost:
    runbook = ruleset.catalog.get("RUN-001")
    assert runbook is not None
    steps = tuple(PostedStep(s.number, s.title) for s in runbook.steps)
    return RunbookPost(2, 1, "feedback", "RUN-001", steps, "1700000000.000300", 1, T0)


ANSWERED = [
    MessageEvent(HELPED, T0 + 10, "slack:U0JANE0001", "RUN-001", id=5),
    MessageEvent(DID_NOT_HELP, T0 + 20, "slack:U0BOB00001", "RUN-001", id=6),
    MessageEvent(
        STEP_WRONG,
        T0 + 30,
        "slack:U0BOB00001",
        "End long idle-in-transaction sessions",
        2,
        "Needs the rds_superuser role, not <!channel> & co",
        id=7,
    ),
]


@pytest.mark.parametrize(("state", "events"), [("asked", []), ("answered", ANSWERED)])
def test_the_question_golden(ruleset: Ruleset, state: str, events: list[MessageEvent]) -> None:
    rendered = feedback.render(
        _question(ruleset), "Database Connection Pool Exhaustion", events, EDIT
    )
    out = json.dumps(
        {"text": rendered.text, "blocks": rendered.blocks}, indent=2, ensure_ascii=False
    )
    check_golden(GOLDEN / f"slack/feedback-{state}.json", out + "\n")
    assert "<!channel>" not in out  # what people type stays text


def test_a_person_s_latest_answer_counts() -> None:
    events = [
        MessageEvent(HELPED, T0, "slack:U1"),
        MessageEvent(DID_NOT_HELP, T0 + 1, "slack:U1"),
        MessageEvent(HELPED, T0 + 2, "slack:U2"),
    ]
    assert feedback.votes(events) == {"slack:U1": DID_NOT_HELP, "slack:U2": HELPED}


def test_the_forms_golden(ruleset: Ruleset) -> None:
    forms = {
        "reason": checklist.reason_form(12, "RUN-001", 2, "End long idle-in-transaction sessions"),
        "step-wrong": feedback.step_wrong_form(
            _question(ruleset), "Database Connection Pool Exhaustion"
        ),
    }
    for name, form in forms.items():
        assert len(form["title"]["text"]) <= 24
        check_golden(
            GOLDEN / f"slack/form-{name}.json",
            json.dumps(form, indent=2, ensure_ascii=False) + "\n",
        )
