""" "Did RUN-001 help?": one question in the thread after an acknowledged message resolves.

It is asked once per message (the resolve arms it: router/deliveries/slack_message.py)
and offers 👍, 👎 and *A step was wrong*, whose form asks which step and what
happened. Every answer is stored on the message's timeline, so per runbook and
per alert; a person's latest 👍 or 👎 is the one that counts, and the question
is edited to show the answers so far.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from router.decide import Ruleset
from router.errors import PayloadError
from router.records import Action, StepWrongForm
from router.render import Rendered
from router.render.buttons import Button
from router.render.incident.timeline import who_text
from router.render.mrkdwn import MAX_SECTION_TEXT, escape, link, safe, truncate
from router.slackapp import forms
from router.store import FEEDBACK_POST, MessageEvent, RunbookPost
from router.store.events import DID_NOT_HELP, HELPED, STEP_WRONG

VOTE_BUTTONS = {Button.HELPED: HELPED, Button.DID_NOT_HELP: DID_NOT_HELP}
STEP_WRONG_FORM = "step_wrong"
"""The *A step was wrong* form's ``callback_id``."""
STEP = "step"
WHAT = "what"
MAX_WHAT = 500
_RUNBOOK = re.compile(r"^RUN-\d{1,9}$")


class VoteStore(Protocol):
    """What "Did RUN-001 help?" and *A step was wrong* read and write (the store
    implements it)."""

    def find_post(self, slack_channel: str, slack_ts: str) -> RunbookPost | None: ...

    def record_vote(self, post_id: int, kind: str, who: str) -> int | None: ...

    def enqueue_action(self, action: Action) -> int: ...

    def record_step_report(self, post_id: int, step: int, who: str, note: str) -> int | None: ...


def votes(events: Sequence[MessageEvent]) -> dict[str, str]:
    """Each person's latest 👍 or 👎."""
    latest: dict[str, str] = {}
    for event in events:
        if event.kind in (HELPED, DID_NOT_HELP) and event.who:
            latest[event.who] = event.kind
    return latest


def render(
    post: RunbookPost,
    title: str | None,
    events: Sequence[MessageEvent],
    edit_url: str | None = None,
) -> Rendered:
    name = f"{post.runbook_id}: {escape(title)}" if title else post.runbook_id
    answers = votes(events)
    up = [w for w, k in answers.items() if k == HELPED]
    down = [w for w, k in answers.items() if k == DID_NOT_HELP]
    head = (
        f"*Did {name} help?*\nThe alert is resolved: your answer goes to the runbook's page "
        "and its quarterly review."
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head, "verbatim": True}},
        {
            "type": "actions",
            "elements": [
                _button(Button.HELPED, "👍 Yes", post.runbook_id),
                _button(Button.DID_NOT_HELP, "👎 No", post.runbook_id),
                _button(Button.STEP_WRONG, "A step was wrong", post.runbook_id),
            ],
        },
    ]
    if answers:
        said = f"👍 {len(up)} · 👎 {len(down)}: " + ", ".join(
            f"{who_text(w, slack=True)} {'👍' if k == HELPED else '👎'}" for w, k in answers.items()
        )
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(said, 3000)}]}
        )
    reports = [e for e in events if e.kind == STEP_WRONG]
    if reports:
        lines = [
            f"• Step {e.step}, {safe(e.detail or '', 200)} ({who_text(e.who, slack=True)}): "
            f"“{safe(e.note or '', MAX_WHAT + 20)}”"
            for e in reports
        ]
        text = truncate("*Steps reported wrong*\n" + "\n".join(lines), MAX_SECTION_TEXT)
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}
        )
    if edit_url:
        edit = link(edit_url, f"Edit {post.runbook_id}", 300)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": edit}]})
    text = f"Did {post.runbook_id} help?"
    return Rendered(text, blocks)


def render_for(post: RunbookPost, events: Sequence[MessageEvent], ruleset: Ruleset) -> Rendered:
    runbook = ruleset.catalog.get(post.runbook_id)
    edit = ruleset.source_url(runbook) if runbook else None
    return render(post, runbook.title if runbook else None, events, edit)


def _button(action_id: Button, text: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": str(action_id),
        "text": forms.plain(text, 75),
        "value": value,
    }


def _post_of(
    store: VoteStore, action: dict[str, Any], i: int, where: tuple[Any, Any]
) -> RunbookPost | None:
    """The question the click came from, if it is ours and about the runbook it names."""
    value = action.get("value")
    if not isinstance(value, str) or not _RUNBOOK.match(value):
        raise PayloadError(f"payload.actions[{i}].value", "not a runbook id", status_code=400)
    channel, ts = where
    post = (
        store.find_post(channel, ts) if isinstance(channel, str) and isinstance(ts, str) else None
    )
    if post is None or post.kind != FEEDBACK_POST or post.runbook_id != value:
        return None
    return post


def vote(
    store: VoteStore, action: dict[str, Any], i: int, where: tuple[Any, Any], user_id: str
) -> list[int]:
    post = _post_of(store, action, i, where)
    if post is None:
        return []
    kind = VOTE_BUTTONS[Button(action["action_id"])]
    event = store.record_vote(post.id, kind, f"slack:{user_id}")
    return [event] if event is not None else []


def step_wrong(
    store: VoteStore,
    action: dict[str, Any],
    i: int,
    where: tuple[Any, Any],
    who: dict[str, Any],
    trigger_id: Any,
) -> list[int]:
    """*A step was wrong*: its form, to open from the outbox."""
    post = _post_of(store, action, i, where)
    if post is None or not (isinstance(trigger_id, str) and forms.TRIGGER_ID.match(trigger_id)):
        return []
    return [store.enqueue_action(StepWrongForm(**who, trigger_id=trigger_id, post_id=post.id))]


def step_wrong_form(post: RunbookPost, title: str | None) -> dict[str, Any]:
    name = f"{post.runbook_id}: {title}" if title else post.runbook_id
    head = (
        f"Which step of *{escape(name)}* was wrong, and what happened? Its owner reads it in "
        "the quarterly review."
    )
    options = [(str(s.number), f"Step {s.number}: {s.title}") for s in post.steps]
    blocks = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(head, 3000), "verbatim": True},
        },
        forms.select_input(STEP, "The step", options),
        forms.text_input(
            WHAT, "What happened", "It said … but … (what would have been right)", MAX_WHAT
        ),
    ]
    return forms.modal(STEP_WRONG_FORM, "A step was wrong", str(post.id), blocks, "Send")


def step_wrong_submitted(view: dict[str, Any], user_id: str, store: VoteStore) -> forms.Submitted:
    post_id = forms.metadata_id(view)
    step = forms.chosen(view, STEP)
    what = forms.typed(view, WHAT, MAX_WHAT)
    errors = {}
    if not step.isdigit() or len(step) > 4:
        errors[STEP] = "Choose the step."
    if not what:
        errors[WHAT] = "Say in a few words what happened."
    if errors:
        return forms.Submitted.refused(errors)
    event = store.record_step_report(post_id, int(step), f"slack:{user_id}", what)
    return forms.Submitted(work=event is not None)
