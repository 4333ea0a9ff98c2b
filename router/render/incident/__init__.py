"""What the router writes about an incident beyond its alert message, as drafts for people.

    timeline.py    what happened when: fired, acknowledged, reminders, escalations, resolved
    postmortem.py  the blameless postmortem draft (markdown), after resolution

Pure functions of a stored message (router/store MessageView), its events and
its runbook; nothing here sends anything.
"""
