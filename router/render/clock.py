"""The response-time clock's thread replies: not acknowledged, not resolved, time for an update.

Each names who to escalate to: the route's ``escalate_to`` (a Slack mention as
routes.yaml writes it, ``oncall:NAME`` already made the person on call now), else
the runbook's Escalation "Who" (text, escaped).
"""

from __future__ import annotations

from router.render import Rendered
from router.render.blocks import duration, section
from router.render.mrkdwn import MAX_SECTION_TEXT, code_block, escape
from router.store import MessageView


def escalation_target(escalate_to: str | None, runbook_who: str | None) -> str:
    if escalate_to:
        return escalate_to  # from routes.yaml: a mention such as <!subteam^S0DBA> is meant
    if runbook_who:
        return escape(runbook_who)
    return "the next level of the escalation matrix (no escalate_to, and no Who in the runbook)"


def _reply(text: str) -> Rendered:
    return Rendered(text, [section(text).to_dict()])


def ack_reminder(view: MessageView, after: float, target: str) -> Rendered:
    return _reply(
        f"⏰ *Not acknowledged after {duration(after)}* ({view.level}: acknowledge within "
        f"{duration(after)}). Escalate to {target}. Acknowledge with the button or a 👀."
    )


def resolve_escalation(
    view: MessageView, after: float, target: str, acked_by: str | None
) -> Rendered:
    """``acked_by``: mrkdwn of who acknowledged ("" if unknown), None if nobody has."""
    if acked_by is None:
        who = " Nobody has acknowledged it."
    else:
        who = f" Acknowledged{f' by {acked_by}' if acked_by else ''}, still firing."
    return _reply(
        f"🚨 *Not resolved after {duration(after)}* ({view.level}: resolve within "
        f"{duration(after)}).{who} Escalate to {target}."
    )


def update_reminder(view: MessageView, every: float, firing_for: float, draft: str) -> Rendered:
    """The reminder, with a draft to edit and post (never sent anywhere by the router)."""
    text = (
        f"📝 *Time for a status update* ({view.level}: every {duration(every)} while it fires; "
        f"firing for {duration(firing_for)}). A draft to edit and post where your "
        "stakeholders read:"
    )
    blocks = [section(text), section(code_block(draft, MAX_SECTION_TEXT - 20))]
    return Rendered(text, [b.to_dict() for b in blocks])
