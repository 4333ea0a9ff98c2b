"""The Slack message for one (group, channel, runbook), as Block Kit.

Storms and their pointers are drawn in storm_message.py; the pieces both
use are in blocks.py.

Layout: header (level, alert name, state); summary; fields; why this level;
runbook link with owner and Last Tested; the first three steps with their first
command; Do not; escalation; the alerts of the group; an "Open runbook" button.
Every piece of alert-supplied text is escaped, and every piece is cut to fit
Slack's limits before slack_sdk's models validate them: truncate, never fail.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    PlainTextObject,
    SectionBlock,
)

from router.config import IDENTITY_LABELS, Level, LevelName
from router.incident.postmortem import postmortem
from router.incident.timeline import timeline, who_text
from router.notifiers import Rendered
from router.notifiers.blocks import (
    do_not,
    duration,
    escalation,
    fit,
    lasted,
    mrkdwn,
    section,
    slack_date,
)
from router.notifiers.message_buttons import message_actions
from router.notifiers.mrkdwn import (
    MAX_FALLBACK_TEXT,
    MAX_FIELD_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    code_block,
    escape,
    from_markdown,
    link,
    safe,
    truncate,
)
from router.notifiers.storm_message import render_pointer, render_storm
from router.runbooks import Catalog, Runbook
from router.store import Member, MessageEvent, MessageView

FIRST_STEPS = 3
LISTED_ALERTS = 10
_LEVEL_MARK = {"SEV0": "🔴", "SEV1": "🔴", "SEV2": "🟠", "SEV3": "🟡", "SEV4": "🔵"}
_NOISY_LABELS = {"alertname", "severity", "__name__"}
MAX_DESCRIPTION = 1500
MAX_LABELS_SHOWN = 8


def title(view: MessageView) -> str:
    names = Counter(m.name or "unnamed alert" for m in view.members)
    (top, _), *others = names.most_common()
    return f"{top} (+{len(others)} more)" if others else top


def _distinguishing(members: list[Member]) -> list[str]:
    """Labels whose values differ between the alerts: what tells them apart."""
    keys = sorted({k for m in members for k in m.labels} - _NOISY_LABELS)
    return [k for k in keys if len({m.labels.get(k, "") for m in members}) > 1]


def _bare(text: str) -> str:
    return re.sub(r"[\s#*_`]+", " ", text).strip().lower()


def _without_first_line_if(text: str, repeated: list[str]) -> str:
    """The description, less a first line that only repeats the summary."""
    head, _, rest = text.partition("\n")
    if repeated and _bare(head) == _bare(repeated[0]):
        return rest.strip()
    return "" if repeated and _bare(text) == _bare(repeated[0]) else text


_SLACK_ACKER = re.compile(r"^slack:([UW][A-Z0-9]{2,20})$")


def acknowledged_by(view: MessageView) -> str | None:
    """Who acknowledged the firing alerts, as mrkdwn ("" if unknown); None unless all are.

    A Slack user (from a reaction) is a mention: the id was checked to be one. Names
    from elsewhere (PagerDuty) are escaped.
    """
    acks = [m.ack_by for m in view.firing]
    if not acks or any(a is None for a in acks):
        return None
    shown = []
    for ack in dict.fromkeys(a for a in acks if a):
        slack = _SLACK_ACKER.match(ack)
        shown.append(f"<@{slack.group(1)}>" if slack else safe(ack, 200))
    return ", ".join(shown)


def acknowledgement(view: MessageView) -> str | None:
    """ "Acknowledged by @user at 03:04 (2m 10s after it fired)", or None if it is not."""
    who = acknowledged_by(view)
    if who is None:
        return None
    text = f"✋ Acknowledged by {who}" if who else "✋ Acknowledged"
    times = [m.ack_at for m in view.firing if m.ack_at]
    if times:
        at = max(times)
        fired = min((m.starts_at for m in view.firing if m.starts_at), default=view.created_at)
        clock = datetime.fromtimestamp(at, UTC).strftime("%H:%M UTC")
        text += f" at <!date^{int(at)}^{{time}}|{clock}> ({duration(at - fired)} after it fired)"
    return text


def _is_stale(runbook: Runbook, now: float, stale_after_days: int) -> bool:
    return runbook.is_stale(datetime.fromtimestamp(now, UTC).date(), stale_after_days)


class MessageRenderer:
    """Renders a stored message with the current runbooks and severity levels."""

    def __init__(
        self,
        runbooks: Catalog,
        levels: Mapping[LevelName, Level],
        stale_after_days: int,
        *,
        pagerduty_ack: bool = False,
        identity_labels: Sequence[str] = IDENTITY_LABELS,
        pages_url: str | None = None,
    ) -> None:
        self.runbooks = runbooks
        self.pages_url = pages_url
        """The router's own pages (for links to drafts), when its runbook links point there."""
        self.levels: dict[str, Level] = {str(k): v for k, v in levels.items()}
        self.stale_after_days = stale_after_days
        self.pagerduty_ack = pagerduty_ack
        """Offer an Acknowledge button (the router can act in PagerDuty)."""
        self.identity_labels = tuple(identity_labels)

    def render(self, view: MessageView, now: float) -> Rendered:
        if view.kind == "storm":
            return render_storm(view, self.levels[view.level])
        if view.kind == "pointer":
            return render_pointer(view)
        runbook = self.runbooks.get(view.runbook_id) if view.runbook_id else None
        level = self.levels[view.level]
        resolved = not view.firing
        blocks: list[Block] = [self._header(view, resolved)]
        blocks += self._summary(view)
        blocks.append(self._fields(view, level.respond))
        blocks.append(self._why(view, resolved, now))
        blocks.append(DividerBlock())
        blocks += self._runbook(view, runbook, now)
        if len(view.members) > 1:
            blocks.append(self._alert_list(view))
        if actions := message_actions(view, self.runbooks, self.pagerduty_ack):
            blocks.append(actions)
        return Rendered(self._fallback(view, resolved, level), fit(blocks))

    def render_resolved_reply(
        self, view: MessageView, now: float, events: Sequence[MessageEvent] = ()
    ) -> Rendered:
        """The thread reply when the last alert resolves: how long, and the timeline."""
        count = len(view.members)
        alerts = f"{count} alerts" if count > 1 else "the alert"
        took = duration(lasted(view, now))
        text = f"✅ Resolved: {safe(title(view), 500)}: {alerts} cleared after {took}."
        lines = []
        for entry in timeline(view, events):
            who = f" by {who_text(entry.who, slack=True)}" if entry.who is not None else ""
            lines.append(f"• {slack_date(entry.at)}: {safe(entry.what, 300)}{who}")
        blocks = [section(text), section("*Timeline*\n" + "\n".join(lines))]
        return Rendered(text, [b.to_dict() for b in blocks])

    def wants_postmortem(self, view: MessageView) -> bool:
        level = self.levels.get(view.level)
        return level is not None and level.postmortem

    def render_postmortem(
        self, view: MessageView, events: Sequence[MessageEvent], now: float, url: str | None
    ) -> Rendered:
        """The postmortem draft in the thread: where to find it whole, and its start."""
        runbook = self.runbooks.get(view.runbook_id) if view.runbook_id else None
        draft = postmortem(view, events, runbook, now)
        where = f" Whole draft: {link(url, 'postmortem.md', 300)}." if url else ""
        head = f"📝 *Postmortem draft* ({view.level}: within 48 hours, blameless).{where}"
        blocks = [section(head), section(code_block(draft, MAX_SECTION_TEXT - 20))]
        return Rendered(
            f"Postmortem draft: {safe(title(view), 200)}", [b.to_dict() for b in blocks]
        )

    # -- pieces -------------------------------------------------------------------

    def _header(self, view: MessageView, resolved: bool) -> HeaderBlock:
        mark = "✅ RESOLVED" if resolved else _LEVEL_MARK.get(view.level, "")
        text = f"{mark} {view.level} · {title(view)}"
        return HeaderBlock(text=PlainTextObject(text=truncate(escape(text), MAX_HEADER_TEXT)))

    def _summary(self, view: MessageView) -> list[Block]:
        """The summary, then what the alert says to do or where (its description)."""
        names = {m.name for m in view.members}
        summaries = [s for s in dict.fromkeys(m.summary for m in view.members) if s]
        summaries = [s for s in summaries if s not in names]  # PagerDuty: title == summary
        blocks: list[Block] = []
        if summaries:
            text = f"*{safe(summaries[0], MAX_SECTION_TEXT - 100)}*"
            if len(summaries) > 1:
                text += f"\n_(+{len(summaries) - 1} other summaries below)_"
            blocks.append(section(text))
        first = view.members[0]
        description = _without_first_line_if(
            first.annotations.get("description", "").strip(), summaries[:1]
        )
        if description:
            blocks.append(section(from_markdown(description, MAX_DESCRIPTION)))
        if first.value and len(view.members) == 1:
            value = f"Value: `{safe(first.value, 500)}`"
            blocks.append(ContextBlock(elements=[mrkdwn(value)]))
        return blocks

    def _identity(self, view: MessageView) -> str:
        """The identifying labels that all alerts of the message share, in config order."""
        first = view.members[0].labels
        shared = [
            f"{k}={first[k]}"
            for k in self.identity_labels
            if k in first and all(m.labels.get(k) == first[k] for m in view.members)
        ]
        return ", ".join(shared[:MAX_LABELS_SHOWN])

    def _fields(self, view: MessageView, respond: str) -> SectionBlock:
        started = min((m.starts_at for m in view.members if m.starts_at), default=view.created_at)
        fields = [
            f"*Source*\n{escape(view.source)}",
            f"*Severity*\n{view.level} · respond {escape(respond)}",
            f"*Labels*\n{safe(self._identity(view) or '—', MAX_FIELD_TEXT - 10)}",
            f"*Started*\n{slack_date(started)}",
        ]
        if len(view.members) > 1:
            firing = len(view.firing)
            fields.append(f"*Alerts*\n{firing} firing, {len(view.members) - firing} resolved")
        return SectionBlock(fields=[mrkdwn(truncate(f, MAX_FIELD_TEXT)) for f in fields])

    def _why(self, view: MessageView, resolved: bool, now: float) -> ContextBlock:
        top = min(view.members, key=lambda m: (m.status != "firing", m.level))
        parts = [f"Why {view.level}: {safe(top.reason, 1000)}"]
        if view.route and view.route not in top.reason:
            parts.append(f"route `{safe(view.route, 200)}`")
        if resolved:
            parts.append(f"resolved after {duration(lasted(view, now))}")
        elif (ack := acknowledgement(view)) is not None:
            parts.append(ack)
        return ContextBlock(elements=[mrkdwn(truncate(" · ".join(parts), MAX_SECTION_TEXT))])

    def _runbook(self, view: MessageView, runbook: Runbook | None, now: float) -> list[Block]:
        if view.runbook_url is None:
            return [
                section(
                    "*No runbook matched this alert.* Add a route with `runbook:` to "
                    "routes.yaml, or a `runbook_url` annotation to the alert rule."
                )
            ]
        if runbook is None and view.runbook_id:
            why = self.runbooks.unreadable(view.runbook_id) or (
                f"{view.runbook_id} is not in the runbooks folder"
            )
            return [
                section(
                    f"*Runbook:* {link(view.runbook_url, view.runbook_id, 1000)}\n"
                    f"⚠️ The steps could not be read: {escape(truncate(why, 1500))}"
                )
            ]
        if runbook is None:
            label = view.runbook_title or "Runbook"
            return [section(f"*Runbook:* {link(view.runbook_url, label, 1000)}")]
        head = f"*{link(view.runbook_url, f'{runbook.id}: {runbook.title}', 1500)}*"
        tested = runbook.last_tested.isoformat() if runbook.last_tested else "never"
        meta = f"Owner: {escape(runbook.owner or 'unknown')} · Last tested: {tested}"
        if _is_stale(runbook, now, self.stale_after_days):
            meta += f" ⚠️ *stale* (older than {self.stale_after_days} days)"
        blocks: list[Block] = [section(f"{head}\n{meta}")]
        for step in runbook.steps[:FIRST_STEPS]:
            text = f"*Step {step.number}: {escape(step.title)}*"
            if step.text:
                text += "\n" + escape(step.text[0])
            if step.commands:
                room = MAX_SECTION_TEXT - len(text) - 1
                text += "\n" + code_block(step.commands[0].code, max(room, 20))
            blocks.append(section(text))
        if len(runbook.steps) > FIRST_STEPS:
            more = len(runbook.steps) - FIRST_STEPS
            blocks.append(ContextBlock(elements=[mrkdwn(f"{more} more step(s) in the runbook.")]))
        blocks += [b for b in (do_not(runbook), escalation(runbook)) if b is not None]
        return blocks

    def _alert_list(self, view: MessageView) -> SectionBlock:
        """Up to LISTED_ALERTS lines within the section limit; the rest are counted."""
        keys = _distinguishing(view.members)
        head = f"*Alerts in this group ({len(view.members)})*"
        budget = MAX_SECTION_TEXT - len(head) - 40  # room for the "…and N more" line
        lines: list[str] = []
        for member in view.members[:LISTED_ALERTS]:
            mark = "🔥" if member.status == "firing" else "✅"
            labels = (
                ", ".join(f"{k}={member.labels.get(k, '')}" for k in keys) or member.fingerprint
            )
            line = f"{mark} {safe(member.name, 200)} `{safe(labels, 300)}`"
            if member.summary:
                line += f" — {safe(member.summary, 300)}"
            if len(line) + 1 > budget:
                break
            budget -= len(line) + 1
            lines.append(line)
        if len(lines) < len(view.members):
            lines.append(f"…and {len(view.members) - len(lines)} more")
        return section("\n".join([head, *lines]))

    def _fallback(self, view: MessageView, resolved: bool, level: Level) -> str:
        state = "RESOLVED" if resolved else "FIRING"
        text = f"[{state}] {view.level} {safe(title(view), 500)}"
        names = {m.name for m in view.members}
        summary = next((m.summary for m in view.members if m.summary not in names), "")
        if summary:
            text += f": {safe(summary, 1000)}"
        if view.runbook_id and view.runbook_title:
            text += f" · runbook {view.runbook_id}: {safe(view.runbook_title, 200)}"
        if not resolved and (ack := acknowledged_by(view)) is not None:
            text += f" (acknowledged by {ack})" if ack else " (acknowledged)"
        if level.mention and not resolved:
            text = f"{level.mention} {text}"  # from routes.yaml, not from the alert
        return truncate(text, MAX_FALLBACK_TEXT)
