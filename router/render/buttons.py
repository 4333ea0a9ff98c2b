"""Every button the router's messages carry, by ``action_id``, in one place.

Buttons that do work (steps, ticks, feedback, acknowledge, share) come back as signed
interactions (router/slackapp/interactions.py) and are queued as typed actions
(router/records.py). Link buttons only open a page; Slack reports their clicks too.
"""

from __future__ import annotations

from enum import StrEnum


class Button(StrEnum):
    SHOW_STEPS = "show_steps"
    """Post the runbook's full procedure in the message's thread."""
    ACKNOWLEDGE = "pd_ack"
    """Acknowledge (the id predates other sources; messages already posted carry it)."""
    SHARE = "share_runbook"
    """Post a /runbook answer in the channel."""
    STATUS_UPDATE = "status_update"
    """Show a status update draft to the clicking user alone."""
    POST_STATUS = "post_status"
    """On that draft: post it in the alert message's thread (value: the message id)."""
    DECLARE_INCIDENT = "declare_incident"
    """Open an incident channel, the clicking user as commander."""
    SILENCE = "silence"
    """Open the silence modal (router/slackapp/silence.py); made in Alertmanager on submit."""
    EXTEND_SILENCE = "extend_silence"
    """The modal again, for a silence shown (value: ``<message id>:<silences.id>``)."""
    EXPIRE_SILENCE = "expire_silence"
    """Expire a silence shown in Alertmanager (value as Extend's)."""
    OPEN_ALERTMANAGER = "open_alertmanager"
    """Show in Alertmanager: its alerts page filtered on the group."""
    STEP_DONE = "step_done"
    """On the checklist: the step is done (value ``RUN-001:2``: the runbook and the step)."""
    STEP_SKIPPED = "step_skipped"
    STEP_FAILED = "step_failed"
    """The step did not work: recorded, then a form asks what happened."""
    STEP_MENU = "step_tick"
    """A long checklist's ⋯ menu per step, in place of the three buttons (option value
    ``step_done RUN-001:2``)."""
    HELPED = "runbook_helped"
    """On "Did RUN-001 help?" after a resolve: 👍 (value: the runbook)."""
    DID_NOT_HELP = "runbook_did_not_help"
    STEP_WRONG = "step_wrong"
    """"A step was wrong": a form asks which one and what happened."""
    OPEN_RUNBOOK = "open_runbook"
    OPEN_PAGERDUTY = "open_pagerduty"
    OPEN_SOURCE = "open_source"
    """The alert's page at its source; links from the payload are ``open_<kind>``."""
