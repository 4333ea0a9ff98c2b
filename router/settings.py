"""Settings from the environment (names in DESIGN.md). Secrets are SecretStr."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from router.config_values import parse_duration

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
"""Where ``serve`` listens unless told otherwise."""


def address(host: str, port: int) -> str:
    """``http://HOST:PORT`` as a browser takes it (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


DEFAULT_PUBLIC_URL = address(DEFAULT_HOST, DEFAULT_PORT)
"""ROUTER_PUBLIC_URL when it is unset and no ``serve`` address says otherwise."""


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    config: str = Field("routes.yaml", validation_alias=_env("ROUTER_CONFIG"))
    runbooks: str = Field("runbooks", validation_alias=_env("ROUTER_RUNBOOKS"))
    database_url: str = Field("sqlite:///router.db", validation_alias=_env("ROUTER_DATABASE_URL"))
    max_body_bytes: int = Field(10 * 1024 * 1024, validation_alias=_env("ROUTER_MAX_BODY_BYTES"))
    max_alerts: int = Field(20_000, validation_alias=_env("ROUTER_MAX_ALERTS"))
    """Alerts in one webhook request at most (413 past it); Alertmanager's biggest groups
    are a few thousand, and a 10 MiB body of real alerts holds about 10,000."""
    max_unverified_bytes: int = Field(
        32 * 1024 * 1024, validation_alias=_env("ROUTER_MAX_UNVERIFIED_BYTES")
    )
    """Bytes held at once, in all, by request bodies whose signature is not checked yet
    (signed webhooks, Slack, sources with ``auth: none``): past it, 503 with Retry-After."""
    log_format: Literal["json", "text"] = Field("json", validation_alias=_env("ROUTER_LOG_FORMAT"))
    log_level: str = Field("INFO", validation_alias=_env("ROUTER_LOG_LEVEL"))
    reload_interval: float = Field(10.0, validation_alias=_env("ROUTER_RELOAD_INTERVAL"))
    """Seconds between checks of routes and runbooks for changes (ConfigMaps); 0: never."""

    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=_env("SLACK_API_URL"))
    slack_response_url_prefix: str = Field(
        "https://hooks.slack.com/", validation_alias=_env("SLACK_RESPONSE_URL_PREFIX")
    )
    """Interactions' response_url must start with this (tests point it at a fake)."""
    slack_app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    """An app-level token (``xapp-…``): Slack reaches the router over Socket Mode."""

    @field_validator("slack_app_token")
    @classmethod
    def _app_level_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().strip().startswith("xapp-"):
            # Never the value: it is a credential, whatever kind it is.
            raise ValueError(
                "expected an app-level token (xapp-…, Basic Information → App-Level Tokens, "
                "scope connections:write), not a bot or user token"
            )
        return SecretStr(value.get_secret_value().strip())

    pagerduty_api_token: SecretStr | None = Field(
        None, validation_alias=_env("PAGERDUTY_API_TOKEN")
    )
    pagerduty_from_email: str | None = Field(None, validation_alias=_env("PAGERDUTY_FROM_EMAIL"))
    pagerduty_webhook_secrets: SecretStr | None = Field(
        None, validation_alias=_env("PAGERDUTY_WEBHOOK_SECRETS")
    )
    pagerduty_api_url: str | None = Field(None, validation_alias=_env("PAGERDUTY_API_URL"))
    pagerduty_events_url: str | None = Field(None, validation_alias=_env("PAGERDUTY_EVENTS_URL"))
    pagerduty_routing_keys: SecretStr | None = Field(
        None, validation_alias=_env("PAGERDUTY_ROUTING_KEYS")
    )
    """``name=key,name2=key2``: the Events API v2 keys that routes page through."""

    alertmanager_token: SecretStr | None = Field(None, validation_alias=_env("ALERTMANAGER_TOKEN"))
    alertmanager_url: str | None = Field(None, validation_alias=_env("ALERTMANAGER_URL"))
    """Alertmanager's API base (two comma-separated: an HA pair), for silences and reconciling."""
    alertmanager_api_token: SecretStr | None = Field(
        None, validation_alias=_env("ALERTMANAGER_API_TOKEN")
    )
    """Bearer token for Alertmanager's API, when a proxy in front of it asks for one."""
    reconcile_interval: float = Field(
        60.0, ge=0, validation_alias=_env("ROUTER_RECONCILE_INTERVAL")
    )
    """Seconds between reads of Alertmanager's alerts; 0: never."""
    reconcile_warmup: float = Field(180.0, ge=0, validation_alias=_env("ROUTER_RECONCILE_WARMUP"))
    """An Alertmanager up for less than this has not heard from Prometheus yet: nothing
    it does not list is resolved (it keeps alerts in memory only)."""
    retention: float = Field(
        180 * 86400.0, ge=0, allow_inf_nan=False, validation_alias=_env("ROUTER_RETENTION")
    )
    """How long resolved alerts and closed messages are kept (``180d``); 0 or ``off``: always."""
    outbox_retention: float = Field(
        7 * 86400.0, ge=0, allow_inf_nan=False, validation_alias=_env("ROUTER_OUTBOX_RETENTION")
    )
    """How long delivered and dead outbox entries are kept (``7d``); 0 or ``off``: always."""

    @field_validator("retention", "outbox_retention", mode="before")
    @classmethod
    def _period(cls, value: Any, info: ValidationInfo) -> Any:
        """A duration as routes.yaml writes one (``180d``, ``12h``; a bare number is
        seconds); ``0`` or ``off`` keeps everything, and empty is the default."""
        if not isinstance(value, str):
            return value
        text = value.strip().lower()
        if not text:
            return cls.model_fields[str(info.field_name)].default
        if text == "off":
            return 0.0
        try:
            return float(text)
        except ValueError:
            pass
        try:
            return parse_duration(text)
        except ValueError:
            raise ValueError(
                f"expected a duration such as 180d, 12h or 3600 (seconds), or off; got {value!r}"
            ) from None

    grafana_token: SecretStr | None = Field(None, validation_alias=_env("GRAFANA_TOKEN"))
    datadog_webhook_secret: SecretStr | None = Field(
        None, validation_alias=_env("DATADOG_WEBHOOK_SECRET")
    )
    sentry_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("SENTRY_CLIENT_SECRET")
    )

    read_token: SecretStr | None = Field(None, validation_alias=_env("ROUTER_READ_TOKEN"))
    """Pages and JSON reads need it (bearer or the /login session) when set."""
    trusted_user_header: str | None = Field(
        None, validation_alias=_env("ROUTER_TRUSTED_USER_HEADER")
    )
    trusted_proxies: str = Field("", validation_alias=_env("ROUTER_TRUSTED_PROXIES"))
    """Comma-separated addresses or networks whose user header is believed."""
    admin_token: SecretStr | None = Field(None, validation_alias=_env("ROUTER_ADMIN_TOKEN"))
    metrics_token: SecretStr | None = Field(None, validation_alias=_env("ROUTER_METRICS_TOKEN"))
    header_timeout: float = Field(10.0, validation_alias=_env("ROUTER_HEADER_TIMEOUT"))
    body_timeout: float = Field(30.0, validation_alias=_env("ROUTER_BODY_TIMEOUT"))
    keepalive_timeout: float = Field(5.0, validation_alias=_env("ROUTER_KEEPALIVE_TIMEOUT"))
    max_connections: int = Field(10_000, validation_alias=_env("ROUTER_MAX_CONNECTIONS"))
    replay_window: float = Field(172800.0, validation_alias=_env("ROUTER_REPLAY_WINDOW"))
    """Seconds: a signed event (PagerDuty) that says it happened longer ago is refused."""
    public_url: str | None = Field(None, validation_alias=_env("ROUTER_PUBLIC_URL"))
    """The router's address as users reach it; links to its pages start with it."""

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip().rstrip("/")
        scheme, sep, rest = url.partition("://")
        if scheme.lower() not in ("http", "https") or not sep or not rest:
            raise ValueError(f"expected an http:// or https:// address, got {url!r}")
        return url

    _serving_at: str = PrivateAttr(DEFAULT_PUBLIC_URL)

    def serving(self, host: str, port: int) -> Settings:
        """These settings for a server on host:port: links default to that address."""
        copy = self.model_copy()
        copy._serving_at = address(host, port)
        return copy

    @property
    def serving_at(self) -> str:
        """``serve``'s own address (the default one outside ``serve``)."""
        return self._serving_at

    def links_to(self) -> str:
        """``{public_url}``: ROUTER_PUBLIC_URL, else serve's address; no trailing /."""
        return self.public_url or self._serving_at

    def tokens(self, value: SecretStr | None) -> list[str]:
        """A credential variable's values; commas separate the ones in rotation."""
        if value is None:
            return []
        return [s.strip() for s in value.get_secret_value().split(",") if s.strip()]

    def routing_keys(self) -> dict[str, str]:
        if self.pagerduty_routing_keys is None:
            return {}
        keys = {}
        for pair in self.pagerduty_routing_keys.get_secret_value().split(","):
            name, sep, key = pair.partition("=")
            if sep and name.strip() and key.strip():
                keys[name.strip()] = key.strip()
        return keys

    def secrets_for(self, env_name: str) -> list[str]:
        """The configured values of a credential variable (a source's ``secret_env``);
        commas separate rotations."""
        value: SecretStr | None = getattr(self, SECRET_FIELDS[env_name])
        return self.tokens(value)


SECRET_FIELDS: dict[str, str] = {
    alias: name
    for name, spec in Settings.model_fields.items()
    if isinstance(spec.validation_alias, AliasChoices) and SecretStr in get_args(spec.annotation)
    for alias in spec.validation_alias.choices
    if isinstance(alias, str)
}
"""The field of each credential variable (``SecretStr``), by the variable's name."""
