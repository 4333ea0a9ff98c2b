"""Block Kit pieces every message uses: text objects, times, durations, the block limit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from router.render.buttons import Button
from router.render.mrkdwn import MAX_BLOCKS, MAX_SECTION_TEXT, button_url, escape, truncate
from router.runbooks import Runbook
from router.store import MessageView


def mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def section(text: str) -> SectionBlock:
    """A mrkdwn section, verbatim, cut to Slack's limit."""
    return SectionBlock(text=mrkdwn(truncate(text, MAX_SECTION_TEXT)))


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0s"


def slack_date(ts: float) -> str:
    """Slack shows ``<!date^...>`` in the reader's time zone; the fallback is UTC."""
    fallback = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(ts)}^{{date_short_pretty}} {{time}}|{fallback}>"


def lasted(view: MessageView, now: float) -> float:
    """From the first alert's start to the last one's end, in the source's own times.

    Arrival times only stand in where the source sent none: a resolve that
    arrives hours late still says how long the problem lasted.
    """
    started = view.tally.started or view.created_at
    return (view.tally.ended or view.resolved_at or now) - started


def fit(blocks: list[Block]) -> list[dict[str, Any]]:
    """At most Slack's 50 blocks: the last one (the buttons) is kept."""
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], blocks[-1]]
    return [b.to_dict() for b in blocks]


def do_not(runbook: Runbook) -> SectionBlock | None:
    """The runbook's "Do not" list."""
    if not runbook.do_not:
        return None
    return section("*⛔ Do not*\n" + "\n".join(f"• {escape(d)}" for d in runbook.do_not))


def escalation(runbook: Runbook) -> SectionBlock | None:
    """When to escalate, to whom, and what to bring."""
    esc = runbook.escalation
    if not esc.defined:
        return None
    lines = [
        f"*When:* {escape(esc.when)}" if esc.when else "",
        f"*Who:* {escape(esc.who)}" if esc.who else "",
        f"*Provide:* {escape(esc.what)}" if esc.what else "",
        *map(escape, esc.other),
    ]
    return section("*📣 Escalation*\n" + "\n".join(line for line in lines if line))


def open_runbook(url: str | None) -> ButtonElement | None:
    """The "Open runbook" link button, when the URL is one Slack accepts."""
    link = button_url(url) if url else None
    if not link:
        return None
    return ButtonElement(
        text=PlainTextObject(text="Open runbook"), action_id=Button.OPEN_RUNBOOK, url=link
    )
