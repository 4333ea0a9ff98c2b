"""An incident's timeline from what the router stored: the alerts' own times, people, the clock."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from router.render.blocks import duration
from router.render.incident.steps import learned_text, ticks
from router.render.mrkdwn import safe
from router.store import MessageEvent, MessageView
from router.store.events import (
    ACK_REMINDER,
    CHECKLIST,
    LEARNED,
    NO_LONGER_ACTIVE,
    RESOLVE_ESCALATION,
    SILENCE_ENDING,
    SILENCE_EXPIRED,
    SILENCED,
    UPDATE_REMINDER,
)

_SLACK_USER = re.compile(r"^slack:([UW][A-Z0-9]{2,20})$")
_EVENTS: dict[str, str] = {
    ACK_REMINDER: "not acknowledged in time: escalation posted",
    RESOLVE_ESCALATION: "not resolved in time: escalation posted",
    UPDATE_REMINDER: "status update reminder posted",
    SILENCE_EXPIRED: "silence expired in Alertmanager",
    SILENCE_ENDING: "silence ends soon: reminder posted",
    NO_LONGER_ACTIVE: "no longer active in Alertmanager: resolved (it sends no resolve for "
    "silenced or inhibited alerts)",
}


def _what(event: MessageEvent) -> str:
    """An event in words; a silence with its end (router/store/silences.py's detail)."""
    if event.kind != SILENCED:
        return _EVENTS[event.kind]
    try:
        until = float(json.loads(event.detail or "{}").get("until"))
    except (ValueError, TypeError):
        return "silenced in Alertmanager"
    return f"silenced in Alertmanager until {utc(until)}"


@dataclass(frozen=True)
class Entry:
    at: float
    what: str
    who: str | None = None
    """Who did it, as stored: ``slack:U…`` for a Slack user, else a name."""


def who_text(who: str | None, *, slack: bool, names: Mapping[str, str] | None = None) -> str:
    """A stored actor for Slack (a mention; other names escaped) or for a document
    (the name Slack gave for the user, from ``names``, else the id in words)."""
    if not who:
        return "someone"
    if match := _SLACK_USER.match(who):
        if slack:
            return f"<@{match.group(1)}>"
        return (names or {}).get(who) or f"Slack user {match.group(1)}"
    return safe(who, 200) if slack else who


def started(view: MessageView) -> float:
    """When the first alert began, by the source's own clock (else when it arrived)."""
    return view.tally.started or view.created_at


def ended(view: MessageView, now: float) -> float:
    return view.tally.ended or view.resolved_at or now


def _received(view: MessageView, fired: float) -> str:
    """When the router heard of it, told with the fired entry so the order stays true.

    The sources' clocks order the timeline. The router's arrival time is not an
    event of the incident: it says how late the news came, in words.
    """
    late = view.created_at - fired
    if view.closed and view.created_at > ended(view, view.created_at):
        heard = utc(view.created_at)
        return (
            f"; the router heard of it only at {heard}, after it resolved (by the source's clock)"
        )
    if late >= 60:
        return f"; it reached the router {duration(late)} later, for {view.channel}"
    return f"; posted to {view.channel}"


def timeline(view: MessageView, events: Sequence[MessageEvent]) -> list[Entry]:
    """Fired, acknowledged, what the clock sent, resolved: in the order they happened."""
    names = sorted(n.name for n in view.tally.names if n.name)
    kinds = view.tally.distinct_names - (len(view.tally.names) - len(names))  # less ""
    what = ", ".join(names[:3]) + (f" and {kinds - 3} more" if kinds > 3 else "")
    count = view.tally.members
    alerts = f"{count} alerts" if count != 1 else "1 alert"
    fired = started(view)
    entries = [Entry(fired, f"fired: {what or 'alert'} ({alerts}){_received(view, fired)}")]
    if (at := view.tally.first_ack) is not None:
        entries.append(Entry(at, "acknowledged", view.tally.first_ack_by))
    entries += [
        Entry(e.at, _what(e), e.who if e.kind in (SILENCED, SILENCE_EXPIRED) else None)
        for e in events
        if e.kind in _EVENTS or e.kind == SILENCED
    ]
    entries += _learned(view, events)
    if view.closed:
        entries.append(Entry(ended(view, view.resolved_at or view.created_at), "resolved"))
    return sorted(entries, key=lambda e: e.at)


def _learned(view: MessageView, events: Sequence[MessageEvent]) -> list[Entry]:
    """The checklist, each tick with the time its step took, and what people said after."""
    by_event = {t.event: t for t in ticks(events)}
    return [
        Entry(e.at, learned_text(e, view.runbook.id, by_event.get(e.id)), e.who)
        for e in events
        if e.kind in LEARNED or e.kind == CHECKLIST
    ]


def utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
