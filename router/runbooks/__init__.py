"""RUN- entries: markdown runbooks kept in git, parsed into ``Runbook`` models."""

from router.runbooks.catalog import Catalog, load_catalog
from router.runbooks.model import Command, Escalation, Runbook, Step
from router.runbooks.parser import parse_runbook

__all__ = [
    "Catalog",
    "Command",
    "Escalation",
    "Runbook",
    "Step",
    "load_catalog",
    "parse_runbook",
]
