"""Communication drafts in the incident guides' shapes, prefilled from what the router knows.

A person edits and reposts them; the router never sends them anywhere public.

    status_update          Status / Impact / Current action / Next update
    executive_brief        SITUATION / CAUSE / ACTION / IMPACT / NEXT UPDATE (SEV0)
    initial_communication  the first message in a declared incident's channel
"""

from __future__ import annotations

from router.config import Level
from router.render.blocks import duration
from router.render.incident.timeline import utc
from router.runbooks import Runbook
from router.store import MessageView

SCOPE_LABELS = ("env", "environment", "cluster", "region", "service", "namespace", "job")


def status(view: MessageView) -> str:
    """Investigating until someone acknowledges, Identified after, Monitoring once some
    alerts resolved, Resolved at the end."""
    if view.closed:
        return "Resolved"
    if view.tally.firing < view.tally.members:
        return "Monitoring"
    if view.tally.unacked < view.tally.firing:
        return "Identified"
    return "Investigating"


def title(view: MessageView) -> str:
    first = view.members[0] if view.members else None
    summary = first.summary if first and first.summary else ""
    return summary or (first.name if first else "") or view.group_key


def impact(view: MessageView) -> str:
    """What is firing and where: the summary, the alert names, the shared scope labels."""
    firing = bool(view.tally.firing)
    counts = [(n.name or "unnamed", n.firing if firing else n.alerts) for n in view.tally.names]
    counts = sorted((c for c in counts if c[1]), key=lambda c: -c[1])[:5]  # stable: ties keep order
    listed = ", ".join(f"{n} ×{c}" if c > 1 else n for n, c in counts)
    scope = []
    for key in SCOPE_LABELS:
        values = {m.labels.get(key) for m in view.members if m.labels.get(key)}
        if len(values) == 1:
            scope.append(f"{key}={values.pop()}")
    where = f" in {', '.join(scope)}" if scope else ""
    return f"{title(view)}: {view.tally.firing} alert(s) firing ({listed}){where}"


def current_action(view: MessageView, runbook: Runbook | None) -> str:
    if runbook is None:
        return "Investigating (no runbook for this alert)"
    step = runbook.steps[0].title if runbook.steps else "its procedure"
    return f"Following {runbook.id} ({runbook.title}): {step}"


def next_update(level: Level | None, now: float) -> str:
    if level is not None and level.update_every:
        return f"{utc(now + level.update_every)} (in {duration(level.update_every)})"
    return "when something changes"


def status_update(
    view: MessageView, runbook: Runbook | None, level: Level | None, now: float
) -> str:
    return "\n".join(
        [
            f"[{utc(now)}] — {title(view)} incident ({view.level})",
            "",
            f"Status: {status(view)}",
            f"Impact: {impact(view)}",
            f"Current action: {current_action(view, runbook)}",
            f"Next update: {next_update(level, now)}",
        ]
    )


def executive_brief(
    view: MessageView, runbook: Runbook | None, level: Level | None, now: float
) -> str:
    cause = (
        f"Under investigation — runbook {runbook.id}: {runbook.title}"
        if runbook
        else ("Under investigation")
    )
    return "\n".join(
        [
            f"INCIDENT BRIEF — {utc(now)}",
            "",
            f"SITUATION: {impact(view)}, for {duration(now - view.created_at)}",
            f"CAUSE: {cause}",
            f"ACTION: {current_action(view, runbook)} — ETA unknown",
            "IMPACT: [users, revenue, reputation: to fill in]",
            f"NEXT UPDATE: {next_update(level, now)}",
        ]
    )


def initial_communication(
    view: MessageView, runbook: Runbook | None, commander: str, runbook_url: str | None, now: float
) -> str:
    """For the incident channel: what, how bad, who leads, where the procedure is."""
    lines = [
        f"🚨 {view.level} incident: {title(view)}",
        "",
        f"Status: {status(view)}",
        f"Impact: {impact(view)}",
        f"Commander: {commander}",
    ]
    if runbook is not None:
        lines.append(
            f"Runbook: {runbook.id}: {runbook.title}" + (f" {runbook_url}" if runbook_url else "")
        )
        lines += [f"{s.number}. {s.title}" for s in runbook.steps[:3]]
    lines.append(f"Declared at {utc(now)}. Post updates in this channel.")
    return "\n".join(lines)
