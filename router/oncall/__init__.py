"""Who is on call: ``oncall:`` in routes.yaml, and ``oncall:NAME`` wherever a mention goes.

    oncall:
      db-primary: {pagerduty: {schedule: PABC123}}     # or {escalation_policy: PDEF456}
      platform: {rotation: {start: "2026-11-02 09:00 Europe/Berlin", every: 1w,
                            people: [U01AAA, U02BBB]}}

A route's ``escalate_to`` and a level's ``mention`` may name ``oncall:NAME``; it
becomes the person on call now (``<@U…>``). PagerDuty's on-call comes from
``GET /oncalls``, its user's email matched to Slack by ``users.lookupByEmail``,
cached briefly and looked up off the delivery's path (lookup.py); a rotation is
computed (rotation.py). A lookup that fails says the schedule's name in words and
never holds a message back.
"""

from __future__ import annotations

import re

REFERENCE = re.compile(r"\boncall:([A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)")
"""``oncall:NAME`` inside a mention or an ``escalate_to``."""
NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$")
"""What an ``oncall:`` entry may be called."""


def references(text: str | None) -> list[str]:
    """The on-call names a mention names, in order."""
    return REFERENCE.findall(text or "")


def in_words(text: str | None) -> str | None:
    """``oncall:NAME`` as words, where nobody can be looked up (``preview``, no lookups)."""
    if not text:
        return text
    return REFERENCE.sub(lambda m: f"whoever is on call for {m.group(1)}", text)
