"""The runbook as a checklist in the alert's thread, and the form *Didn't work* opens.

*Show all steps* posts it (router/slackapp/actions.py): every step filled for the
message's alerts, each with *Done*, *Skipped* and *Didn't work*. A button's value
names the runbook and the step (``RUN-001:2``); a click counts only on the
checklist it came from (found by the signed request's channel and ts), for a
step that checklist has, of the runbook it is for. The tick is recorded when the
click arrives (who, when), and the message is edited from the outbox with who
ticked what, when, and how long since the previous step. *Didn't work* then opens
a form for what happened, which only its clicker can fill in, once.

Within Slack's limits, never failing: a step is a section and a row of buttons
(24 steps fit in 50 blocks); a longer runbook gets a ⋯ menu per step instead,
and past 48 steps the rest are named in one line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from router.decide import Ruleset
from router.errors import PayloadError
from router.records import Action, StepReasonForm
from router.render import Rendered
from router.render.blocks import duration, slack_date
from router.render.buttons import Button
from router.render.incident.steps import MARKS, StepState, checklist_start, states
from router.render.incident.timeline import who_text
from router.render.mrkdwn import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    escape,
    link,
    safe,
    truncate,
)
from router.render.runbook_entry import step_text
from router.runbooks import Runbook
from router.runbooks.filled import filled_step
from router.runbooks.placeholders import fill_for
from router.slackapp import forms
from router.store import CHECKLIST_POST, MessageEvent, MessageView, PostedStep, RunbookPost
from router.store.events import CHECKLIST, STEP_DONE, STEP_FAILED, STEP_SKIPPED

TICK_BUTTONS = {
    Button.STEP_DONE: STEP_DONE,
    Button.STEP_SKIPPED: STEP_SKIPPED,
    Button.STEP_FAILED: STEP_FAILED,
}
"""Each tick button and the tick it records."""
_LABELS = {STEP_DONE: "✅ Done", STEP_SKIPPED: "⏭️ Skipped", STEP_FAILED: "⚠️ Didn't work"}
REASON_FORM = "step_failed"
"""The *Didn't work* form's ``callback_id``."""
REASON = "reason"
MAX_REASON = 500
_VALUE = re.compile(r"^(RUN-\d{1,9}):(\d{1,4})$")
BUTTON_STEPS = (MAX_BLOCKS - 2) // 2
"""Steps that fit with a row of buttons each, beside the head and the tail."""
MAX_TEXT = 36_000
"""All the steps' text together: a long runbook's steps are each cut shorter, so the
message stays well within what Slack takes (it refuses about 40,000 characters)."""
MIN_STEP_TEXT = 500


class TickStore(Protocol):
    """What a tick and its *Didn't work* form read and write (the store implements it)."""

    def find_post(self, slack_channel: str, slack_ts: str) -> RunbookPost | None: ...

    def record_tick(
        self,
        post_id: int,
        step: int,
        kind: str,
        who: str,
        form: Callable[[int], Action] | None = None,
    ) -> int | None: ...

    def note_step(self, event_id: int, who: str, note: str) -> bool: ...


def step_value(runbook_id: str, number: int) -> str:
    return f"{runbook_id}:{number}"


def posted_steps(
    runbook: Runbook, label_sets: Sequence[Mapping[str, str]]
) -> tuple[PostedStep, ...]:
    """The steps as a checklist (or the feedback question) names them: titles filled."""
    return tuple(PostedStep(s.number, fill_for(s.title, label_sets)) for s in runbook.steps)


# -- the message ------------------------------------------------------------------


def _state_line(state: StepState, edit: str | None) -> str:
    tick = state.tick
    if tick is None:
        return ""
    since = "the checklist was posted" if tick.first else "the previous step"
    by = who_text(tick.who, slack=True)
    line = (
        f"*{tick.word.capitalize()}* by {by} at {slack_date(tick.at)}, "
        f"{duration(tick.took)} after {since}"
    )
    if tick.kind == STEP_FAILED:
        line += f": “{safe(tick.note, MAX_REASON + 20)}”" if tick.note else " (no reason given yet)"
        if edit:
            line += f" · {link(edit, 'Fix this step', 300)}"
    return line


def _step_section(
    state: StepState,
    runbook: Runbook | None,
    label_sets: Sequence[Mapping[str, str]],
    more_url: str | None,
    edit: str | None,
    menu: dict[str, Any] | None,
    limit: int = MAX_SECTION_TEXT,
) -> dict[str, Any]:
    step = next((s for s in runbook.steps if s.number == state.number), None) if runbook else None
    body = (
        step_text(filled_step(step, label_sets), more_url)
        if step is not None
        else f"*Step {state.number}: {escape(state.title)}*"
    )
    title, _, rest = body.partition("\n")
    mark = state.tick.mark if state.tick else "☐"
    lines = [f"{mark} {title}", _state_line(state, edit), rest]
    section: dict[str, Any] = {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": truncate("\n".join(x for x in lines if x), limit),
            "verbatim": True,
        },
    }
    if menu is not None:
        section["accessory"] = menu
    return section


def _buttons(runbook_id: str, state: StepState) -> dict[str, Any]:
    value = step_value(runbook_id, state.number)
    elements = []
    for action_id, kind in TICK_BUTTONS.items():
        button: dict[str, Any] = {
            "type": "button",
            "action_id": str(action_id),
            "text": forms.plain(_LABELS[kind], 75),
            "value": value,
        }
        if kind == STEP_DONE and state.tick is None:
            button["style"] = "primary"
        elements.append(button)
    return {"type": "actions", "elements": elements}


def _menu(runbook_id: str, state: StepState) -> dict[str, Any]:
    value = step_value(runbook_id, state.number)
    return {
        "type": "overflow",
        "action_id": str(Button.STEP_MENU),
        "options": [
            {"text": forms.plain(label, 75), "value": f"{kind} {value}"}
            for kind, label in _LABELS.items()
        ],
    }


def render(
    post: RunbookPost,
    runbook: Runbook | None,
    events: Sequence[MessageEvent],
    *,
    asked_by: str | None,
    label_sets: Sequence[Mapping[str, str]] = (),
    more_url: str | None = None,
    edit_url: Callable[[int | None], str | None] = lambda _line: None,
) -> Rendered:
    """The checklist as it stands after ``events`` (the message's timeline)."""
    started = checklist_start(events) or post.created_at
    steps = states([(s.number, s.title) for s in post.steps], events, started)
    kinds = Counter(s.tick.kind for s in steps if s.tick is not None)
    ticked = sum(kinds.values())
    counts = ", ".join(f"{kinds[k]} {MARKS[k][1]}" for k in MARKS if kinds[k])
    title = escape(runbook.title) if runbook else ""
    name = f"{post.runbook_id}: {title}" if title else post.runbook_id
    asker = who_text(asked_by, slack=True)
    head = (
        f"*☑️ Checklist for {name}* (asked by {asker}): tick each step as you go; "
        "who and when go on the alert's timeline.\n"
        f"{ticked} of {len(steps)} steps ticked" + (f": {counts}" if counts else "")
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head, "verbatim": True}}
    ]
    lines = {s.number: s.line for s in runbook.steps} if runbook else {}
    room = MAX_BLOCKS - 2
    with_buttons = len(steps) <= BUTTON_STEPS
    shown = steps if len(steps) <= room else steps[: room - 1]
    limit = max(MIN_STEP_TEXT, min(MAX_SECTION_TEXT, MAX_TEXT // max(len(shown), 1)))
    for state in shown:
        edit = edit_url(lines[state.number]) if state.number in lines else None
        menu = None if with_buttons else _menu(post.runbook_id, state)
        blocks.append(_step_section(state, runbook, label_sets, more_url, edit, menu, limit))
        if with_buttons:
            blocks.append(_buttons(post.runbook_id, state))
    if len(shown) < len(steps):
        rest = ", ".join(str(s.number) for s in steps[len(shown) :])
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": truncate(f"…and steps {rest}: in the runbook.", MAX_SECTION_TEXT),
                },
            }
        )
    tail = []
    if (whole := edit_url(None)) is not None:
        tail.append(link(whole, f"Edit {post.runbook_id}", 300))
    if not with_buttons:
        tail.append("Tick a step from its ⋯ menu.")
    if tail:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(tail)}]}
        )
    text = f"Checklist for {post.runbook_id}: {ticked} of {len(steps)} steps ticked"
    return Rendered(text, blocks)


def render_for(
    post: RunbookPost,
    view: MessageView,
    events: Sequence[MessageEvent],
    ruleset: Ruleset,
    *,
    asked_by: str | None = None,
    more_url: str | None = None,
) -> Rendered:
    """The checklist of this message, drawn with the current runbooks."""
    runbook = ruleset.catalog.get(post.runbook_id)
    if asked_by is None:
        asked_by = next((e.who for e in events if e.kind == CHECKLIST), None)

    def edit(line: int | None) -> str | None:
        return ruleset.source_url(runbook, line) if runbook else None

    return render(
        post,
        runbook,
        events,
        asked_by=asked_by,
        label_sets=[m.labels for m in view.firing or view.members],
        more_url=more_url,
        edit_url=edit,
    )


# -- clicks and the form ------------------------------------------------------------


def _tick_of(action: dict[str, Any], i: int) -> tuple[str, str, int]:
    """(tick kind, runbook id, step) from a button or a ⋯ menu option."""
    path = f"payload.actions[{i}]"
    value: Any
    if action.get("action_id") == Button.STEP_MENU:
        option = action.get("selected_option")
        raw = option.get("value") if isinstance(option, dict) else None
        kind, _, value = str(raw or "").partition(" ")
        if kind not in _LABELS:
            raise PayloadError(f"{path}.selected_option.value", "not a tick", status_code=400)
        path += ".selected_option"
    else:
        kind = TICK_BUTTONS[Button(action["action_id"])]
        value = action.get("value")
    match = _VALUE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise PayloadError(f"{path}.value", "not a runbook step (RUN-nnn:N)", status_code=400)
    return kind, match.group(1), int(match.group(2))


def tick(
    store: TickStore,
    action: dict[str, Any],
    i: int,
    where: tuple[Any, Any],
    who: dict[str, Any],
    trigger_id: Any,
) -> list[int]:
    """Record a tick from a checklist; the event id, or nothing when it does not count."""
    kind, runbook_id, number = _tick_of(action, i)
    channel, ts = where
    post = (
        store.find_post(channel, ts) if isinstance(channel, str) and isinstance(ts, str) else None
    )
    if post is None or post.kind != CHECKLIST_POST or post.runbook_id != runbook_id:
        return []  # not a checklist of ours, or one of another runbook
    form = None
    if kind == STEP_FAILED and isinstance(trigger_id, str) and forms.TRIGGER_ID.match(trigger_id):

        def form(event_id: int) -> StepReasonForm:
            return StepReasonForm(**who, trigger_id=trigger_id, event_id=event_id)

    event = store.record_tick(post.id, number, kind, f"slack:{who['user_id']}", form)
    return [event] if event is not None else []


def reason_form(event_id: int, runbook_id: str, step: int, title: str) -> dict[str, Any]:
    """The form after *Didn't work*: what happened (the tick is recorded already)."""
    head = (
        f"*{escape(runbook_id)} step {step}: {safe(title, 500)}* is marked as not working. "
        "What happened? It goes on the alert's timeline, the runbook's page and its review."
    )
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head, "verbatim": True}},
        forms.text_input(
            REASON, "What happened", "The command failed with …, the check showed …", MAX_REASON
        ),
    ]
    return forms.modal(REASON_FORM, "Didn't work", str(event_id), blocks, "Save")


def reason_submitted(view: dict[str, Any], user_id: str, store: TickStore) -> forms.Submitted:
    event_id = forms.metadata_id(view)
    reason = forms.typed(view, REASON, MAX_REASON)
    if not reason:
        return forms.Submitted.refused({REASON: "Say in a few words what happened."})
    if store.note_step(event_id, f"slack:{user_id}", reason):
        return forms.Submitted(work=True)
    return forms.Submitted()  # not that user's tick, or said already: nothing changes
