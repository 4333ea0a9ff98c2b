"""The Slack message for one (group, channel, runbook), as Block Kit.

It fits a phone's first screen ("The message at 3 AM" in the design): the
header (level, alert name, state); the summary; one line of level, response
time, why, source, start and the labels every alert shares; every alert of the
group with the labels that tell it apart and its own description or value; the
runbook link, its first step with the commands filled from the alerts, the
titles of the next steps, "Do not" and the escalation in a line each; buttons.
A resolved message keeps what happened and drops the steps.

Storms and their pointers are drawn in storm_message.py; the pieces all use are
in blocks.py. Every piece of alert-supplied text is escaped, and every piece is
cut to fit Slack's limits before slack_sdk's models validate them: truncate,
never fail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlencode

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, PlainTextObject

from router.config import IDENTITY_LABELS, Level, LevelName
from router.render import Rendered, muted
from router.render import labels as shown_labels
from router.render import message_runbook as steps
from router.render.blocks import duration, fit, lasted, mrkdwn, section, slack_date
from router.render.incident.timeline import timeline, who_text
from router.render.message_buttons import message_actions
from router.render.mrkdwn import (
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    escape,
    from_markdown,
    link,
    safe,
    truncate,
)
from router.render.storm_message import render_pointer, render_storm
from router.runbooks import Catalog, Runbook
from router.store import Member, MessageEvent, MessageView
from router.store.events import INCIDENT_ANNOUNCED, NO_LONGER_ACTIVE

LISTED_ALERTS = 10
_LEVEL_MARK = {"SEV0": "🔴", "SEV1": "🔴", "SEV2": "🟠", "SEV3": "🟡", "SEV4": "🔵"}
MAX_DESCRIPTION = 400
MAX_OWN_TEXT = 160
MAX_LABELS_SHOWN = 8
MAX_APART_SHOWN = 4
DEFAULT_POSTMORTEM_AFTER = 300.0
"""A group that fired less than this (and had no incident declared) draws no postmortem."""
HEARTBEAT_CHECKS = (
    "*What to check*\n"
    "1. Prometheus is up and evaluating its rules (the heartbeat alert fires in its "
    "Alerts page).\n"
    "2. Alertmanager is up, and its route sends the heartbeat alert to this router with "
    "a `repeat_interval` shorter than the heartbeat.\n"
    "3. The webhook reaches the router: Alertmanager's "
    "`alertmanager_notifications_failed_total`, and refused webhooks in the router's log."
)


def title(view: MessageView) -> str:
    names = view.tally.names
    top = (names[0].name if names else "") or "unnamed alert"
    others = view.tally.distinct_names - 1
    return f"{top} (+{others} more)" if others > 0 else top


def _bare(text: str) -> str:
    return re.sub(r"[\s#*_`]+", " ", text).strip().lower()


def _without_first_line_if(text: str, repeated: str) -> str:
    """The description, less a first line that only repeats the summary."""
    head, _, rest = text.partition("\n")
    if repeated and _bare(head) == _bare(repeated):
        return rest.strip()
    return text


_SLACK_ACKER = re.compile(r"^slack:([UW][A-Z0-9]{2,20})$")


def acknowledged_by(view: MessageView) -> str | None:
    """Who acknowledged the firing alerts, as mrkdwn ("" if unknown); None unless all are.

    A Slack user (from a reaction) is a mention: the id was checked to be one. Names
    from elsewhere (PagerDuty) are escaped.
    """
    if not view.tally.firing or view.tally.unacked:
        return None
    shown = []
    for ack in view.tally.ackers:
        slack = _SLACK_ACKER.match(ack)
        shown.append(f"<@{slack.group(1)}>" if slack else safe(ack, 200))
    return ", ".join(shown)


def acknowledgement(view: MessageView) -> str | None:
    """ "Acknowledged by @user at 03:04 (2m 10s after it fired)", or None if it is not."""
    who = acknowledged_by(view)
    if who is None:
        return None
    text = f"✋ Acknowledged by {who}" if who else "✋ Acknowledged"
    if at := view.tally.last_ack:
        fired = view.tally.firing_started or view.created_at
        clock = datetime.fromtimestamp(at, UTC).strftime("%H:%M UTC")
        text += f" at <!date^{int(at)}^{{time}}|{clock}> ({duration(at - fired)} after it fired)"
    return text


def _common_summary(view: MessageView) -> str:
    """The summary to lead with: the first alert's, unless it only repeats its name."""
    names = {m.name for m in view.members}
    return next((m.summary for m in view.members if m.summary and m.summary not in names), "")


def _own_text(member: Member, summary: str) -> str:
    """What this alert says about itself: its description, else its own summary or value."""
    description = member.annotations.get("description", "").strip()
    description = _without_first_line_if(description, summary).partition("\n")[0].strip()
    for text in (description, member.summary if member.summary != summary else "", member.value):
        if text and _bare(text) != _bare(summary):
            return text
    return ""


class SilenceApis(Protocol):
    """The Alertmanagers the router can silence in (router/alertmanagers.py)."""

    def for_message(self, view: MessageView) -> object | None:
        """The one the message's alerts came from; None if none is configured."""
        ...


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
        alertmanagers: SilenceApis | None = None,
    ) -> None:
        self.runbooks = runbooks
        self.alertmanagers = alertmanagers
        """Alertmanager APIs: messages from one get Silence, Extend and Expire."""
        self.pages_url = pages_url
        """The router's own pages (for links to alert pages and drafts)."""
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
        runbook = self.runbooks.get(view.runbook.id) if view.runbook.id else None
        level = self.levels[view.level]
        resolved = not view.tally.firing
        blocks: list[Block] = [self._header(view, resolved)]
        blocks += self._summary(view, resolved)
        blocks.append(self._context(view, level.respond, resolved, now))
        if view.tally.members > 1:
            blocks.append(self._alert_list(view))
        blocks += self._runbook(view, runbook, resolved, now)
        can_silence = self.alertmanagers is not None and bool(self.alertmanagers.for_message(view))
        if actions := message_actions(
            view, self.runbooks, self.pagerduty_ack, can_silence=can_silence, now=now
        ):
            blocks.append(actions)
        return Rendered(self._fallback(view, resolved, level), fit(blocks))

    def wants_postmortem(self, view: MessageView, events: Sequence[MessageEvent]) -> bool:
        """A level with ``postmortem: true``, when the group fired at least its
        ``postmortem_after`` or had an incident declared; never for a heartbeat."""
        level = self.levels.get(view.level)
        if level is None or not level.postmortem or view.heartbeat:
            return False
        if any(e.kind == INCIDENT_ANNOUNCED for e in events):
            return True
        after = level.postmortem_after
        return lasted(view, view.resolved_at or view.created_at) >= (
            DEFAULT_POSTMORTEM_AFTER if after is None else after
        )

    def render_resolved_reply(
        self,
        view: MessageView,
        now: float,
        events: Sequence[MessageEvent] = (),
        postmortem_url: str | None = None,
    ) -> Rendered:
        """The thread reply when the last alert resolves: how long, the timeline, and
        (where the level asks for one) a line linking the postmortem draft."""
        count = view.tally.members
        alerts = f"{count} alerts" if count > 1 else "the alert"
        took = duration(lasted(view, now))
        text = f"✅ Resolved: {safe(title(view), 500)}: {alerts} cleared after {took}."
        if any(e.kind == NO_LONGER_ACTIVE for e in events):
            text += " No longer active in Alertmanager (it sends no resolve for muted alerts)."
        lines = []
        for entry in timeline(view, events):
            who = f" by {who_text(entry.who, slack=True)}" if entry.who is not None else ""
            lines.append(f"• {slack_date(entry.at)}: {safe(entry.what, 300)}{who}")
        blocks = [section(text), section("*Timeline*\n" + "\n".join(lines))]
        if self.wants_postmortem(view, events):
            where = link(postmortem_url, "postmortem draft", 300) if postmortem_url else ""
            draft = where or "postmortem draft (on the alert's page in the router)"
            blocks.append(
                section(f"📝 {view.level}: a {draft} is ready: blameless, within 48 hours.")
            )
        return Rendered(text, [b.to_dict() for b in blocks])

    # -- pieces -------------------------------------------------------------------

    def _header(self, view: MessageView, resolved: bool) -> HeaderBlock:
        if resolved:
            mark = "✅ RESOLVED"
        elif muted.all_muted(view):
            mark = "🔕 SILENCED" if all(m.silenced_by for m in view.firing) else "⛔ INHIBITED"
        elif acknowledged_by(view) is not None:
            mark = "✋ ACKNOWLEDGED"
        else:
            mark = _LEVEL_MARK.get(view.level, "")
        text = f"{mark} {view.level} · {title(view)}"
        return HeaderBlock(text=PlainTextObject(text=truncate(escape(text), MAX_HEADER_TEXT)))

    def _summary(self, view: MessageView, resolved: bool) -> list[Block]:
        """The summary; for one alert still firing, its description and value too.

        A group's own descriptions are in its alert list; a resolved alert's are stale.
        """
        summary = _common_summary(view)
        parts = [f"*{safe(summary, MAX_SECTION_TEXT - 600)}*"] if summary else []
        if view.tally.members == 1 and not resolved:
            first = view.members[0]
            description = _without_first_line_if(
                first.annotations.get("description", "").strip(), summary
            )
            if description and _bare(description) != _bare(summary):
                parts.append(from_markdown(description, MAX_DESCRIPTION))
            if first.value:
                parts.append(f"Value: `{safe(first.value, 200)}`")
        return [section("\n".join(parts))] if parts else []

    def _shared_labels(self, view: MessageView) -> str:
        groups = [m.labels for m in view.members]
        keys = shown_labels.common(groups, self.identity_labels)[:MAX_LABELS_SHOWN]
        return shown_labels.pairs(groups[0], keys)

    def _context(self, view: MessageView, respond: str, resolved: bool, now: float) -> Block:
        """Level, response time and why; source and start; shared labels; ack or end."""
        top = min(view.members, key=lambda m: (m.status != "firing", m.level))
        why = f"{view.level} · respond {escape(respond)} · why: {safe(top.reason, 300)}"
        if view.route and view.route not in top.reason:
            why += f" (route `{safe(view.route, 100)}`)"
        started = view.tally.started or view.created_at
        parts = [why, f"{escape(view.source)} · started {slack_date(started)}"]
        if labels := self._shared_labels(view):
            parts.append(f"`{safe(labels, 600)}`")
        if resolved:
            parts.append(f"resolved after {duration(lasted(view, now))}")
        elif (ack := acknowledgement(view)) is not None:
            parts.append(ack)
        if not resolved and (silenced := muted.muted_line(view, now)) is not None:
            parts.append(silenced)
        return ContextBlock(elements=[mrkdwn(truncate(" · ".join(parts), MAX_SECTION_TEXT))])

    def _alert_list(self, view: MessageView) -> Block:
        """Each alert (ten at most, then "+N more"): what tells it apart, what it says."""
        groups = [m.labels for m in view.members]
        keys = shown_labels.telling_apart(groups, self.identity_labels)[:MAX_APART_SHOWN]
        summary = _common_summary(view)
        firing = view.tally.firing
        resolved = view.tally.members - firing
        head = f"*{firing} firing*, {resolved} resolved" if firing else f"*{resolved} resolved*"
        if not resolved:
            head = f"*{firing} firing*"
        budget = MAX_SECTION_TEXT - len(head) - 80  # room for the "+N more" line
        lines: list[str] = []
        for member in view.members[:LISTED_ALERTS]:
            mark = "🔥" if member.status == "firing" else "✅"
            if member.status == "firing" and (member.silenced_by or member.inhibited_by):
                mark = "🔕" if member.silenced_by else "⛔"
            apart = shown_labels.pairs(member.labels, keys) if keys else member.fingerprint[:12]
            line = f"{mark} `{safe(apart, 300)}`"
            if member.status == "firing" and (own := _own_text(member, summary)):
                line += f" {safe(own, MAX_OWN_TEXT)}"
            elif member.status != "firing" and member.ends_at:
                line += f" resolved {slack_date(member.ends_at)}"
            if len(line) + 1 > budget:
                break
            budget -= len(line) + 1
            lines.append(line)
        if len(lines) < view.tally.members:
            lines.append(f"+{view.tally.members - len(lines)} more{self._on_alert_page(view)}")
        return section("\n".join([head, *lines]))

    def _on_alert_page(self, view: MessageView) -> str:
        """Where the rest of a long list is: the alerts page searched for the group's
        alert name, linked when the router's address is known."""
        if not self.pages_url:
            return ""
        query = urlencode({"q": " ".join(view.members[0].name.split()[:8])[:200]})
        return f" on {link(f'{self.pages_url}/alerts?{query}', 'the alerts page', 400)}"

    def _runbook(
        self, view: MessageView, runbook: Runbook | None, resolved: bool, now: float
    ) -> list[Block]:
        if view.runbook.url is None:
            if view.heartbeat:
                return [section(HEARTBEAT_CHECKS)]
            return [
                section(
                    "*No runbook for this alert.* Give its route a `runbook:` in routes.yaml, "
                    "list it on a runbook's `Alerts:` line, or add a `runbook_url` "
                    "annotation to the alert rule."
                )
            ]
        if runbook is None and view.runbook.id:
            why = self.runbooks.unreadable(view.runbook.id) or (
                f"{view.runbook.id} is not in the runbooks folder"
            )
            return [
                section(
                    f"*Runbook:* {link(view.runbook.url, view.runbook.id, 1000)}\n"
                    f"⚠️ The steps could not be read: {escape(truncate(why, 1500))}"
                )
            ]
        if runbook is None:
            label = view.runbook.title or "Runbook"
            return [section(f"*Runbook:* {link(view.runbook.url, label, 1000)}")]
        head = steps.head(runbook, view.runbook.url, now, self.stale_after_days)
        if resolved or not runbook.steps:
            return [section(head)]
        label_sets = [m.labels for m in view.firing]
        first = steps.first_step(runbook.steps[0], label_sets, self._on_alert_page(view))
        blocks: list[Block] = [section(f"{head}\n{first}")]
        if following := steps.next_steps(runbook):
            blocks.append(ContextBlock(elements=[mrkdwn(truncate(following, MAX_SECTION_TEXT))]))
        short = [steps.do_not_line(runbook), steps.escalation_line(runbook)]
        blocks += [section(line) for line in short if line]
        return blocks

    def _fallback(self, view: MessageView, resolved: bool, level: Level) -> str:
        state = "RESOLVED" if resolved else "FIRING"
        text = f"[{state}] {view.level} {safe(title(view), 500)}"
        if summary := _common_summary(view):
            text += f": {safe(summary, 1000)}"
        if view.runbook.id and view.runbook.title:
            text += f" · runbook {view.runbook.id}: {safe(view.runbook.title, 200)}"
        if not resolved and (ack := acknowledged_by(view)) is not None:
            text += f" (acknowledged by {ack})" if ack else " (acknowledged)"
        if level.mention and not resolved:
            text = f"{level.mention} {text}"  # from routes.yaml, not from the alert
        return truncate(text, MAX_FALLBACK_TEXT)
