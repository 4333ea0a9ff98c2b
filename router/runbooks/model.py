"""What a parsed RUN- entry holds."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

CATEGORIES = ("Incident", "Deployment", "Maintenance", "Recovery", "Escalation")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Command(_Frozen):
    language: str = ""
    code: str
    line: int


class Step(_Frozen):
    number: int
    title: str
    line: int
    text: list[str] = Field(default_factory=list)
    commands: list[Command] = Field(default_factory=list)
    verification: list[str] = Field(default_factory=list)


class Escalation(_Frozen):
    when: str = ""
    who: str = ""
    what: str = ""
    other: list[str] = Field(default_factory=list)

    @property
    def defined(self) -> bool:
        return bool(self.when or self.who or self.other)


class Runbook(_Frozen):
    id: str
    number: int
    title: str
    path: str
    category: str = ""
    trigger: str = ""
    owner: str = ""
    last_tested: date | None = None
    alerts: list[str] = Field(default_factory=list)
    symptoms: list[str] = Field(default_factory=list)
    scope_handles: list[str] = Field(default_factory=list)
    scope_not_handles: list[str] = Field(default_factory=list)
    prerequisites: list[str] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    do_not: list[str] = Field(default_factory=list)
    escalation: Escalation = Field(default_factory=Escalation)
    post_incident: list[str] = Field(default_factory=list)
    linked_ids: list[str] = Field(default_factory=list)
    lines: dict[str, int] = Field(default_factory=dict)
    """Where each header field and section starts, for lint messages."""
    source: str = Field(default="", exclude=True, repr=False)
    """The markdown as written, for the web page."""
    first_line: int = Field(default=1, exclude=True, repr=False)
    """The line of its file that ``source`` starts at (a file may hold several entries)."""

    def is_stale(self, today: date, stale_after_days: int) -> bool:
        """Untested entries are stale too: nobody knows whether they still work."""
        return self.last_tested is None or (today - self.last_tested).days > stale_after_days
