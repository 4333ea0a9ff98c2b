"""The blameless postmortem draft: the shape of the incident guides, filled where we know.

Summary, timeline and duration come from what was stored; root cause, impact,
what went well and prevention are questions for the people who were there. It
is a draft to edit and publish, never sent anywhere by the router.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from router.incident.timeline import ended, started, timeline, utc, who_text
from router.notifiers.blocks import duration
from router.runbooks import Runbook
from router.store import MessageEvent, MessageView

QUESTIONS = [
    "- (add: when the change that caused it was made, when it was noticed, what was tried)",
    "",
    "## Root cause",
    "",
    "What failed, and why was it not caught earlier? Five whys:",
    "",
    *[f"{n}. Why? " for n in range(1, 6)],
    "",
    "## Impact",
    "",
    "- Users affected:",
    "- Revenue:",
    "- Reputation:",
    "- Data:",
    "",
    "## What went well",
    "",
    "- ",
    "",
    "## Where we got lucky",
    "",
    "- ",
    "",
    "## Prevention",
    "",
    "- Monitoring that would have caught this sooner:",
    "- Testing that would have prevented it:",
    "- Process changes:",
    "- Infrastructure changes:",
    "",
    "## Action items",
    "",
    "- [action] -> [owner] -> [deadline]",
    "- [action] -> [owner] -> [deadline]",
    "- [action] -> [owner] -> [deadline]",
]
"""What only the people who were there can write: the draft asks."""


def postmortem(
    view: MessageView,
    events: Sequence[MessageEvent],
    runbook: Runbook | None,
    now: float,
    people: Mapping[str, str] | None = None,
) -> str:
    """The draft, as markdown; people by the names in ``people`` (stored actor -> name)."""
    names = sorted({m.name for m in view.members if m.name})
    title = names[0] if len(names) == 1 else f"{len(names)} alerts"
    began, over = started(view), ended(view, now)
    lines = [
        f"# Postmortem: {view.level} {title} ({utc(began)[:10]})",
        "",
        "_Blameless: we look for what in the system let this happen, not for who._",
        "",
        "## Summary",
        "",
        f"- Level: {view.level}; route: {view.route or 'default'}; channel: {view.channel}",
        f"- Alerts: {', '.join(names) or 'unnamed'} ({len(view.members)} in all)",
        f"- Started {utc(began)}; resolved {utc(over)}; lasted {duration(over - began)}"
        if view.closed
        else f"- Started {utc(began)}; still firing at {utc(now)} ({duration(now - began)} so far)",
    ]
    if runbook is not None:
        lines.append(f"- Runbook: {runbook.id}: {runbook.title} (owner: {runbook.owner or '?'})")
    lines += ["", "## Timeline", ""]
    for entry in timeline(view, events):
        by = who_text(entry.who, slack=False, names=people)
        who = f" by {by}" if entry.who is not None else ""
        lines.append(f"- {utc(entry.at)}: {entry.what}{who}")
    lines += QUESTIONS
    if runbook is not None and runbook.post_incident:
        lines += ["", f"## From {runbook.id}'s post-incident list", ""]
        lines += [f"- [ ] {item}" for item in runbook.post_incident]
    return "\n".join(lines) + "\n"
