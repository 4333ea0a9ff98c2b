"""A runbook entry as Block Kit: the whole procedure, within Slack's limits."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
)

from router.notifiers.blocks import do_not, escalation, open_runbook, section
from router.notifiers.buttons import Button
from router.notifiers.mrkdwn import (
    MAX_BLOCKS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    code_block,
    escape,
    truncate,
)
from router.runbooks import Runbook, Step


def step_text(step: Step) -> str:
    """One step: title, text, every command, the verification checklist."""
    parts = [f"*Step {step.number}: {escape(step.title)}*"]
    parts += [escape(t) for t in step.text]
    budget = MAX_SECTION_TEXT - sum(len(p) + 1 for p in parts) - 200
    for command in step.commands:
        block = code_block(command.code, max(budget, 40))
        budget -= len(block)
        parts.append(block)
    if step.verification:
        parts.append("*Verify:*\n" + "\n".join(f"☐ {escape(v)}" for v in step.verification))
    return truncate("\n".join(parts), MAX_SECTION_TEXT)


def procedure_blocks(runbook: Runbook, limit: int = MAX_BLOCKS) -> list[Block]:
    blocks: list[Block] = [section(step_text(step)) for step in runbook.steps]
    if len(blocks) > limit:
        blocks = [
            *blocks[: limit - 1],
            section(f"…{len(blocks) - limit + 1} more steps in the runbook."),
        ]
    return blocks


def runbook_blocks(runbook: Runbook, url: str, *, share: bool = True) -> list[dict[str, Any]]:
    """The entry, for /runbook RUN-nnn and for "Post in channel"."""
    tested = runbook.last_tested.isoformat() if runbook.last_tested else "never"
    category = escape(runbook.category or "Uncategorised")
    meta = f"{category} · Owner: {escape(runbook.owner or 'unknown')} · Last tested: {tested}"
    head: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(
                text=truncate(escape(f"{runbook.id}: {runbook.title}"), MAX_HEADER_TEXT)
            )
        ),
        ContextBlock(elements=[MarkdownTextObject(text=truncate(meta, MAX_SECTION_TEXT))]),
    ]
    if runbook.trigger:
        head.append(section(f"*Trigger:* {escape(runbook.trigger)}"))
    tail: list[Block] = [DividerBlock()]
    tail += [b for b in (do_not(runbook), escalation(runbook)) if b is not None]
    buttons = []
    if (button := open_runbook(url)) is not None:
        buttons.append(button)
    if share:
        buttons.append(
            ButtonElement(
                text=PlainTextObject(text="Post in channel"),
                action_id=Button.SHARE,
                value=runbook.id,
            )
        )
    if buttons:
        tail.append(ActionsBlock(block_id="runbook-entry", elements=buttons))
    room = MAX_BLOCKS - len(head) - len(tail)
    return [b.to_dict() for b in [*head, *procedure_blocks(runbook, room), *tail]]
