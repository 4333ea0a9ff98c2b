"""The buttons under an alert message: open the runbook and the source's pages; show the
steps, acknowledge, draft a status update, declare an incident."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, PlainTextObject

from router.render import muted
from router.render.blocks import open_runbook
from router.render.buttons import Button
from router.render.mrkdwn import button_url
from router.runbooks import Catalog
from router.sources import page_button
from router.store import MessageView

INCIDENT_LEVELS = ("SEV0", "SEV1", "SEV2")
"""Firing messages at these levels offer Status update and Declare incident."""
# Link kinds a source gives (Alert.links), as button texts, in this order.
_LINK_BUTTONS = {
    "dashboard": "Dashboard",
    "panel": "Panel",
    "monitor": "Datadog monitor",
    "event": "Datadog event",
    "silence": "Silence",
    "image": "Image",
}


def message_actions(
    view: MessageView,
    runbooks: Catalog,
    pagerduty_ack: bool,
    *,
    can_silence: bool = False,
    now: float = 0.0,
) -> ActionsBlock | None:
    """The buttons under an alert message: where to look, and what to do.

    ``can_silence``: the message's Alertmanager API is configured (Silence, Extend, Expire).
    """
    buttons = []
    if (button := open_runbook(view.runbook.url)) is not None:
        buttons.append(button)
    if view.runbook.id and runbooks.get(view.runbook.id):
        buttons.append(
            ButtonElement(
                text=PlainTextObject(text="Show all steps"),
                action_id=Button.SHOW_STEPS,
                value=view.runbook.id,
            )
        )
    unacked = view.tally.unacked
    from_pagerduty = any(m.pagerduty_incident for m in view.firing)
    if unacked and (pagerduty_ack or not from_pagerduty):
        buttons.append(
            ButtonElement(
                text=PlainTextObject(text="Acknowledge"),
                action_id=Button.ACKNOWLEDGE,
                # Not the incident ID: the click is checked against the stored
                # message, and alert-supplied text has no place in the payload.
                value="acknowledge",
                style="primary",
            )
        )
    if view.tally.firing and view.level in INCIDENT_LEVELS:
        buttons += [
            ButtonElement(
                text=PlainTextObject(text="Status update"),
                action_id=Button.STATUS_UPDATE,
                value="status",
            ),
            ButtonElement(
                text=PlainTextObject(text="Declare incident"),
                action_id=Button.DECLARE_INCIDENT,
                value="declare",
                style="danger",
            ),
        ]
    buttons += muted.silence_buttons(view, can_silence, now)
    if (alertmanager := muted.alertmanager_button(view)) is not None:
        buttons.append(alertmanager)
    buttons += _link_buttons(view, shows_alertmanager=alertmanager is not None)
    return ActionsBlock(block_id="runbook-actions", elements=buttons) if buttons else None


def _link_buttons(view: MessageView, *, shows_alertmanager: bool = False) -> list[ButtonElement]:
    """Where to look next: the source's own pages for the (first) alert (Alertmanager's
    front page only when *Show in Alertmanager* is not there)."""
    first = view.members[0]
    found: list[tuple[str, str, str]] = []
    shown_already = shows_alertmanager and first.url == muted.external_url(view)
    if first.url and not shown_already and (button := page_button(view.source, first.url)):
        found.append((*button, first.url))
    for kind, label in _LINK_BUTTONS.items():
        if url := first.links.get(kind):
            found.append((label, f"open_{kind}", url))
    buttons = []
    for label, action, url in found:
        if target := button_url(url):
            buttons.append(
                ButtonElement(text=PlainTextObject(text=label), action_id=action, url=target)
            )
    return buttons
