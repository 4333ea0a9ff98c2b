"""The storm's one incident message, and each channel's pointer to it."""

from __future__ import annotations

from collections import Counter

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, PlainTextObject

from router.config import Level
from router.notifiers import Rendered
from router.notifiers.blocks import fit, mrkdwn, section, slack_date
from router.notifiers.mrkdwn import (
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
    count, firing = len(view.members), len(view.firing)
    over = view.storm_ended_at is not None
    mark = "✅ RESOLVED" if not firing else ("🌤 STORM OVER" if over else "🌪")
    head = f"{mark} {view.level} · Alert storm: {count} alerts from {view.source}"
    started = min((m.starts_at for m in view.members if m.starts_at), default=view.created_at)
    names = Counter(m.name or "unnamed alert" for m in view.members)
    still = Counter(m.name or "unnamed alert" for m in view.firing)
    by_name = [f"• {safe(n, 200)} ×{c} ({still[n]} firing)" for n, c in names.most_common(10)]
    if len(names) > 10:
        by_name.append(f"…and {len(names) - 10} more alert names")
    runbooks: Counter[tuple[str, str, str]] = Counter(
        (m.runbook_id or "", m.runbook_url or "", m.runbook_title or "") for m in view.members
    )
    by_runbook = []
    for (rid, url, title), c in runbooks.most_common(10):
        label = f"{rid}: {title}" if rid else title or ""
        shown = link(url, label, 400) if url else "*no runbook*"
        by_runbook.append(f"• {shown} ×{c}")
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
    fallback += ", ".join(f"{safe(n, 100)} ×{c}" for n, c in names.most_common(3))
    if level.mention and firing and not over:
        fallback = f"{level.mention} {fallback}"
    return Rendered(truncate(fallback, MAX_FALLBACK_TEXT), fit(blocks))


def render_pointer(view: MessageView) -> Rendered:
    """A channel's one message for its alerts that joined a storm: where to look."""
    count, firing = len(view.members), len(view.firing)
    storm = view.parent
    where = escape(storm.channel) if storm else "the incident channel"
    if storm and storm.slack_channel:
        where = f"<#{storm.slack_channel}>"
    alerts = "alert" if count == 1 else "alerts"
    mark = "✅" if not firing else "🌪"
    head = f"{mark} {count} {alerts} for this channel joined an alert storm"
    names = Counter(m.name or "unnamed alert" for m in view.members)
    listed = ", ".join(f"{safe(n, 200)} ×{c}" for n, c in names.most_common(10))
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
