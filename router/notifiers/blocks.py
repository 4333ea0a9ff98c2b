"""Block Kit pieces every message uses: text objects, times, durations, the block limit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from router.notifiers.mrkdwn import MAX_BLOCKS, MAX_SECTION_TEXT, truncate
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
    started = min((m.starts_at for m in view.members if m.starts_at), default=view.created_at)
    ends = [m.ends_at for m in view.members if m.ends_at]
    return (max(ends) if ends else (view.resolved_at or now)) - started


def fit(blocks: list[Block]) -> list[dict[str, Any]]:
    """At most Slack's 50 blocks: the last one (the buttons) is kept."""
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], blocks[-1]]
    return [b.to_dict() for b in blocks]
