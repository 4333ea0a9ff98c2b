"""What a ruleset asks of the ingest, in one object built once per ruleset.

The webhook handler and the hold release hand it to the store with each batch instead
of the ruleset's values one by one; requests under the same policy share a run.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

from router.decide import Ruleset
from router.storm import StormPolicy


@dataclass(frozen=True)
class IngestPolicy:
    storm: StormPolicy | None = None
    """Arrivals that fold into a storm message (``severity.storm``), or none."""
    first_look: Mapping[str, float] = field(default_factory=dict)
    """Levels with response times -> seconds after a message fires at one until its
    response-time clock has something to do (the soonest of ``ack_within``,
    ``resolve_within``, ``update_every``)."""
    pagerduty_notes: bool = False
    """A runbook note goes to each newly routed PagerDuty incident (REST API configured)."""

    @classmethod
    def of(cls, ruleset: Ruleset, pagerduty_notes: bool = False) -> IngestPolicy:
        """The ruleset's policy; the same object for as long as the ruleset is in force."""
        known = _POLICIES.setdefault(ruleset, {})
        policy = known.get(pagerduty_notes)
        if policy is None:
            policy = known[pagerduty_notes] = cls(
                ruleset.storm_policy, ruleset.first_looks, pagerduty_notes
            )
        return policy


PLAIN = IngestPolicy()
"""No storm policy, no response clocks, no PagerDuty notes (a ruleset that sets none)."""

_POLICIES: weakref.WeakKeyDictionary[Ruleset, dict[bool, IngestPolicy]] = (
    weakref.WeakKeyDictionary()
)
