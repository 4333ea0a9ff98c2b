"""The storm's one incident message, and each channel's pointer to it."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, PlainTextObject

from router.config import Level
from router.render import Rendered
from router.render.blocks import fit, mrkdwn, section, slack_date
from router.render.mrkdwn import (
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    escape,
    link,
    safe,
    truncate,
)
from router.store import MessageView


def render_storm(view: MessageView, level: Level) -> Rendered:
    """One incident message for a storm: counts by alert name and by runbook."""
    count, firing = view.tally.members, view.tally.firing
    over = view.storm_ended_at is not None
    mark = "✅ RESOLVED" if not firing else ("🌤 STORM OVER" if over else "🌪")
    head = f"{mark} {view.level} · Alert storm: {count} alerts from {view.source}"
    started = view.tally.started or view.created_at
    by_name = [
        f"• {safe(n.name or 'unnamed alert', 200)} ×{n.alerts} ({n.firing} firing)"
        for n in view.tally.names[:10]
    ]
    if view.tally.distinct_names > 10:
        by_name.append(f"…and {view.tally.distinct_names - 10} more alert names")
    by_runbook = []
    for r in view.tally.runbooks[:10]:
        label = f"{r.runbook_id}: {r.title}" if r.runbook_id else r.title or ""
        shown = link(r.url, label, 400) if r.url else "*no runbook*"
        by_runbook.append(f"• {shown} ×{r.alerts}")
    why = view.firing[0].reason if view.firing else view.members[0].reason
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=truncate(escape(head), MAX_HEADER_TEXT))),
        section(
            f"*Treat this as a single incident.* {firing} firing, {count - firing} resolved,"
            f" since {slack_date(started)}. Respond {escape(level.respond)}."
        ),
        ContextBlock(
            elements=[mrkdwn(truncate(f"Why {view.level}: {safe(why, 1000)}", MAX_SECTION_TEXT))]
        ),
        section("*By alert*\n" + "\n".join(by_name)),
        section("*By runbook*\n" + "\n".join(by_runbook)),
    ]
    if over and view.storm_ended_at:
        quiet = f"{view.storm_within or 0:g}s"
        text = f"Storm over at {slack_date(view.storm_ended_at)}: no new alerts for {quiet}."
        if firing:
            text += f" {firing} still firing."
        blocks.append(ContextBlock(elements=[mrkdwn(text)]))
    fallback = f"[STORM] {view.level} {count} alerts from {escape(view.source)}: "
    fallback += ", ".join(
        f"{safe(n.name or 'unnamed alert', 100)} ×{n.alerts}" for n in view.tally.names[:3]
    )
    if level.mention and firing and not over:
        fallback = f"{level.mention} {fallback}"
    return Rendered(truncate(fallback, MAX_FALLBACK_TEXT), fit(blocks))


def render_pointer(view: MessageView) -> Rendered:
    """A channel's one message for its alerts that joined a storm: where to look."""
    count, firing = view.tally.members, view.tally.firing
    storm = view.parent
    where = escape(storm.channel) if storm else "the incident channel"
    if storm and storm.slack_channel:
        where = f"<#{storm.slack_channel}>"
    alerts = "alert" if count == 1 else "alerts"
    mark = "✅" if not firing else "🌪"
    head = f"{mark} {count} {alerts} for this channel joined an alert storm"
    listed = ", ".join(
        f"{safe(n.name or 'unnamed alert', 200)} ×{n.alerts}" for n in view.tally.names[:10]
    )
    text = (
        f"*{firing} firing, {count - firing} resolved.* They are handled as one incident "
        f"({escape(storm.level) if storm else 'storm'}) in {where}: follow the storm message "
        f"there.\n{listed}"
    )
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=truncate(escape(head), MAX_HEADER_TEXT))),
        section(text),
    ]
    fallback = f"{head}: see {where}"
    return Rendered(truncate(fallback, MAX_FALLBACK_TEXT), fit(blocks))
