"""The normalized alert: the only thing that crosses from a source into the pipeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from router import storable

MAX_FINGERPRINT = 255  # the alerts.fingerprint column
SourceName = Literal["alertmanager", "grafana", "pagerduty", "datadog", "sentry"]
Status = Literal["firing", "resolved"]


class Alert(BaseModel):
    """One alert as every part after the source sees it."""

    model_config = ConfigDict(frozen=True)

    source: SourceName
    status: Status
    name: str
    fingerprint: str = Field(description="stable identity across firing, resolved and repeats")
    group_key: str = Field(description="alerts sharing it may share one Slack message")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    source_severity: str | None = None
    summary: str = ""
    url: str | None = None
    links: dict[str, str] = Field(
        default_factory=dict,
        description="more links from the source by kind: dashboard, panel, silence, image",
    )
    value: str = Field(default="", description="the measured value(s), as the source words them")
    acknowledged: bool = False
    acknowledged_by: str | None = Field(
        default=None, description="who acknowledged, when the source says; None if unknown"
    )
    pagerduty_incident: str | None = Field(
        default=None, description="the PagerDuty incident this alert is, or is linked to"
    )
    refires: bool = Field(
        default=True,
        description="False: once resolved, the sender never fires this identity again (a "
        "Sentry metric incident), so a firing copy after that is a replay",
    )
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        """No value a database refuses (NUL, lone surrogates, NaN) in any field, the group
        key, the URL and the raw severity too: see router.storable."""
        return storable.clean(value)

    @field_validator("fingerprint")
    @classmethod
    def _short_identity(cls, value: str) -> str:
        return storable.identity(value, MAX_FINGERPRINT)
