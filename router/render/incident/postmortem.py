"""The blameless postmortem draft: the shape of the incident guides, filled where we know.

Summary, timeline and duration come from what was stored; root cause, impact,
what went well and prevention are questions for the people who were there. It
is a draft to edit and publish, never sent anywhere by the router.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from router.render.blocks import duration
from router.render.incident.steps import checklist_start, states
from router.render.incident.timeline import ended, started, timeline, utc, who_text
from router.runbooks import Runbook
from router.store import MessageEvent, MessageView
from router.store.events import DID_NOT_HELP, HELPED, STEP_WRONG, TICKS

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


def _line(text: str) -> str:
    """One line of the draft: alert text (a name, a summary) or what someone typed in
    Slack (a step's note) never starts a line of its own, so it can add no heading or
    section (every line break becomes a space)."""
    return " ".join(text.split())


def postmortem(
    view: MessageView,
    events: Sequence[MessageEvent],
    runbook: Runbook | None,
    now: float,
    people: Mapping[str, str] | None = None,
) -> str:
    """The draft, as markdown; people by the names in ``people`` (stored actor -> name)."""
    names = sorted(n.name for n in view.tally.names if n.name)
    title = names[0] if len(names) == 1 else f"{len(names)} alerts"
    unlisted = view.tally.distinct_names - len(view.tally.names)
    listed = ", ".join(names) + (f" and {unlisted} more" if unlisted > 0 else "")
    began, over = started(view), ended(view, now)
    lines = [
        _line(f"# Postmortem: {view.level} {title} ({utc(began)[:10]})"),
        "",
        "_Blameless: we look for what in the system let this happen, not for who._",
        "",
        "## Summary",
        "",
        _line(f"- Level: {view.level}; route: {view.route or 'default'}; channel: {view.channel}"),
        _line(f"- Alerts: {listed or 'unnamed'} ({view.tally.members} in all)"),
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
        lines.append(_line(f"- {utc(entry.at)}: {entry.what}{who}"))
    lines += QUESTIONS[:1]
    lines += _steps(view, events, runbook, people)
    lines += QUESTIONS[1:]
    if runbook is not None and runbook.post_incident:
        lines += ["", f"## From {runbook.id}'s post-incident list", ""]
        lines += [f"- [ ] {item}" for item in runbook.post_incident]
    return "\n".join(lines) + "\n"


def _steps(
    view: MessageView,
    events: Sequence[MessageEvent],
    runbook: Runbook | None,
    people: Mapping[str, str] | None,
) -> list[str]:
    """What each step came to, when the checklist was used; what was said after."""
    start = checklist_start(events)
    said = [e for e in events if e.kind in (HELPED, DID_NOT_HELP, STEP_WRONG)]
    if start is None and not said:
        return []
    known = {s.number: s.title for s in runbook.steps} if runbook else {}
    known |= {e.step: e.detail or "" for e in events if e.kind in TICKS and e.step is not None}
    name = runbook.id if runbook else view.runbook.id or "the runbook"
    lines = ["", f"## {name}'s steps, as ticked in Slack", ""]
    if start is None:
        lines.append("- The checklist was not used.")
    for state in states(sorted(known.items()), events, start):
        tick = state.tick
        head = f"- Step {state.number}, {state.title}: "
        if tick is None:
            lines.append(_line(head + "not ticked"))
            continue
        by = who_text(tick.who, slack=False, names=people)
        since = "the checklist was posted" if tick.first else "the previous step"
        why = f': "{tick.note}"' if tick.note else ""
        lines.append(_line(f"{head}{tick.word} by {by}, {duration(tick.took)} after {since}{why}"))
    votes: dict[str, str] = {}
    for event in said:
        if event.kind in (HELPED, DID_NOT_HELP) and event.who:
            votes[event.who] = event.kind
    if votes:
        up = sum(1 for v in votes.values() if v == HELPED)
        lines.append(f"- After the resolve: {up} 👍, {len(votes) - up} 👎")
    for event in said:
        if event.kind == STEP_WRONG:
            by = who_text(event.who, slack=False, names=people)
            lines.append(_line(f'- Step {event.step} was wrong ({by}): "{event.note or ""}"'))
    return lines
