"""A runbook entry as Block Kit: the whole procedure, within Slack's limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

from router.render.blocks import do_not, escalation, open_runbook, section
from router.render.buttons import Button
from router.render.mrkdwn import (
    MAX_BLOCKS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    code_block,
    escape,
    link,
    truncate,
)
from router.runbooks import Runbook, Step
from router.runbooks.filled import FilledStep, filled_step


def step_text(step: Step | FilledStep, more_url: str | None = None) -> str:
    """One step: title, text, every command, the verification checklist.

    A step filled for several alerts shows each distinct filling of a command,
    then "+N more" for those left out, linked to ``more_url`` (the alert page).
    """
    if isinstance(step, Step):
        step = filled_step(step, [])
    parts = [f"*Step {step.number}: {escape(step.title)}*"]
    parts += [escape(t) for t in step.text]
    budget = MAX_SECTION_TEXT - sum(len(p) + 1 for p in parts) - 200
    for command in step.commands:
        for code in command.fillings:
            block = code_block(code, max(budget, 40))
            budget -= len(block)
            parts.append(block)
        if command.more:
            page = link(more_url, "see the alert page", 100) if more_url else "see the alert page"
            parts.append(f"+{command.more} more ({page})")
    if step.verification:
        parts.append("*Verify:*\n" + "\n".join(f"☐ {escape(v)}" for v in step.verification))
    return truncate("\n".join(parts), MAX_SECTION_TEXT)


def procedure_blocks(
    runbook: Runbook,
    limit: int = MAX_BLOCKS,
    *,
    label_sets: Sequence[Mapping[str, str]] = (),
    more_url: str | None = None,
) -> list[Block]:
    """Every step, filled from ``label_sets`` (the alerts' labels; none: as written)."""
    blocks: list[Block] = [
        section(step_text(filled_step(step, label_sets), more_url)) for step in runbook.steps
    ]
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
