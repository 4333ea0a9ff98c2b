"""routes.yaml's ``alertmanagers:`` and ``silence:``: the Alertmanager APIs the router
reads and silences through, and who may silence from Slack.

```yaml
alertmanagers:
  - name: prod-eu                      # shown in Slack and in metrics
    url: [http://alertmanager-0.monitoring:9093, http://alertmanager-1.monitoring:9093]
    external_url: https://alertmanager.prod-eu.example.com   # the webhooks' externalURL
    token_env: AM_PROD_EU_TOKEN        # bearer token (default: ALERTMANAGER_API_TOKEN)
  - name: grafana                      # Grafana's Alertmanager-compatible API
    source: grafana
    url: https://grafana.example.com/api/alertmanager/grafana
    external_url: https://grafana.example.com/
silence:
  allow: [U0123ABCD, S0ONCALL]         # user IDs and user group IDs; unset: anyone
  max_duration: 1d                     # the longest silence Slack may make (default 7d)
  remind_before: 15m                   # a thread reply before a silence ends (0: none)
```

``ALERTMANAGER_URL`` (comma-separated for an HA pair) is one more entry, for the
Alertmanager alerts no entry's ``external_url`` claims.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from router.config_values import Duration

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
_USER = re.compile(r"^(?:<@)?([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>?$")
_GROUP = re.compile(r"^(?:<!subteam\^)?(S[A-Z0-9]{2,20})(?:\|[^>]*)?>?$")
_API_SUFFIX = "/api/v2"


def web_url(value: str, what: str) -> str:
    """An http(s) URL without a trailing slash; ValueError naming ``what`` otherwise."""
    url = value.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url) > 2000 or " " in url:
        raise ValueError(f"{what} {value!r}: expected an http:// or https:// URL")
    return url


def api_base(value: str) -> str:
    """An Alertmanager API base: ``http://am:9093`` (a trailing ``/api/v2`` is dropped)."""
    return web_url(value, "url").removesuffix(_API_SUFFIX)


def api_bases(value: Any) -> Any:
    """One URL, a comma-separated pair (as ``ALERTMANAGER_URL``), or a list."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [api_base(v) if isinstance(v, str) else v for v in value]
    return value


def same_url(a: str | None, b: str | None) -> bool:
    """Two external URLs for one Alertmanager: scheme and host in any case, no trailing /."""
    if a is None or b is None:
        return False

    def norm(url: str) -> str:
        scheme, sep, rest = url.strip().rstrip("/").partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}{sep}{host.lower()}{slash}{path}"

    return norm(a) == norm(b)


class AlertmanagerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: Annotated[list[str], BeforeValidator(api_bases)] = Field(min_length=1)
    """API bases; two or more are an HA cluster (silences to the first that answers)."""
    external_url: str | None = None
    """Matched against the webhooks' ``externalURL``; unset: every alert of the source."""
    source: Literal["alertmanager", "grafana"] = "alertmanager"
    token_env: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r}: letters, digits, '.', '_' and '-' only (64 at most)")
        return value

    @field_validator("external_url")
    @classmethod
    def _external(cls, value: str | None) -> str | None:
        return web_url(value, "external_url") if value is not None else None

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV.match(value):
            raise ValueError(f"{value!r}: expected an environment variable name like AM_TOKEN")
        return value


def check_alertmanagers(entries: list[AlertmanagerEntry]) -> list[AlertmanagerEntry]:
    """Names are unique, and no two entries claim the same alerts."""
    names: set[str] = set()
    claims: list[tuple[str, str | None]] = []
    for entry in entries:
        if entry.name in names:
            raise ValueError(f"two entries are named {entry.name!r}")
        names.add(entry.name)
        for source, url in claims:
            same = url == entry.external_url or same_url(url, entry.external_url)
            if source == entry.source and same:
                where = f"external_url {url}" if url else "no external_url"
                raise ValueError(f"{entry.name!r} claims the alerts another entry does ({where})")
        claims.append((entry.source, entry.external_url))
    return entries


def slack_id(value: Any) -> Any:
    """``U0123`` / ``<@U0123>`` (a user) or ``S0123`` / ``<!subteam^S0123>`` (a user group)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    found = _USER.match(text) or _GROUP.match(text)
    if found is None:
        raise ValueError(
            f"{value!r}: expected a Slack user ID (U0123ABCD, <@U0123ABCD>) or user group ID "
            "(S0123ABCD, <!subteam^S0123ABCD>)"
        )
    return found.group(1)


SlackId = Annotated[str, BeforeValidator(slack_id)]


class SilenceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    allow: list[SlackId] | None = None
    """Who may silence, extend and expire from Slack; None: anyone who sees the message."""
    max_duration: Duration = Field(default=7 * 86400.0, ge=1800)
    """The longest silence Slack may make (at least the modal's shortest choice, 30m)."""
    remind_before: Duration = Field(default=900.0, ge=0)

    @property
    def users(self) -> frozenset[str]:
        return frozenset(a for a in self.allow or () if not a.startswith("S"))

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(a for a in self.allow or () if a.startswith("S"))
