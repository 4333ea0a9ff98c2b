"""The Alertmanagers the router knows, and which one an alert message came from.

Built from ``ALERTMANAGER_URL`` (the Alertmanager alerts no other entry claims)
and routes.yaml's ``alertmanagers:`` (each claims the alerts whose webhook
``externalURL`` is its ``external_url``; Grafana's entries claim Grafana alerts).
A message belongs to the entry that claims its alerts; one no entry claims has
no Silence button and is never reconciled.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import httpx

from router.config import RoutesFile
from router.config_alertmanagers import api_bases, same_url
from router.errors import ConfigError, Problem
from router.notifiers.alertmanager import AlertmanagerAPI
from router.render.muted import external_url
from router.settings import Settings
from router.sources._webhook import EXTERNAL_LINK
from router.store import MessageView

DEFAULT_NAME = "alertmanager"
"""The entry ``ALERTMANAGER_URL`` makes (its metrics label)."""
EXTERNAL = EXTERNAL_LINK
"""The ``links`` kind of the webhook's ``externalURL``."""


@dataclass
class Alertmanagers:
    apis: Sequence[AlertmanagerAPI]

    def __iter__(self) -> Iterator[AlertmanagerAPI]:
        return iter(self.apis)

    def __len__(self) -> int:
        return len(self.apis)

    def get(self, name: str) -> AlertmanagerAPI | None:
        return next((api for api in self.apis if api.name == name), None)

    def claiming(self, source: str, external: str | None) -> AlertmanagerAPI | None:
        """The entry for alerts of ``source`` sent with ``externalURL`` ``external``."""
        candidates = [api for api in self.apis if api.source == source]
        for api in candidates:
            if api.external_url is not None and same_url(api.external_url, external):
                return api
        return next((api for api in candidates if api.external_url is None), None)

    def for_message(self, view: MessageView) -> AlertmanagerAPI | None:
        if view.kind != "group" or view.heartbeat or not view.members:
            return None
        return self.claiming(view.source, external_url(view))

    def close(self) -> None:
        for api in self.apis:
            api.close()


def build(
    settings: Settings,
    data: RoutesFile,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Alertmanagers:
    """Every Alertmanager configured; ConfigError for a bad ``ALERTMANAGER_URL``."""
    env = os.environ if environ is None else environ
    default_token = (
        settings.alertmanager_api_token.get_secret_value()
        if settings.alertmanager_api_token
        else None
    )
    apis = []
    for entry in data.alertmanagers:
        token = env.get(entry.token_env) if entry.token_env else default_token
        apis.append(
            AlertmanagerAPI(
                entry.name,
                entry.url,
                token or None,
                source=entry.source,
                external_url=entry.external_url,
                transport=transport,
            )
        )
    if settings.alertmanager_url and not any(
        a.source == "alertmanager" and a.external_url is None for a in apis
    ):
        try:
            urls = api_bases(settings.alertmanager_url)
        except ValueError as exc:
            raise ConfigError([Problem("ALERTMANAGER_URL", None, "", str(exc))]) from None
        if urls:
            apis.append(AlertmanagerAPI(DEFAULT_NAME, urls, default_token, transport=transport))
    return Alertmanagers(apis)


def check(
    settings: Settings, data: RoutesFile, environ: Mapping[str, str] | None = None
) -> tuple[Alertmanagers | None, list[str], list[str]]:
    """For ``check``: the Alertmanagers configured, errors, and warnings."""
    env = os.environ if environ is None else environ
    try:
        known = build(settings, data, environ=env)
    except ConfigError as exc:
        return None, [str(p) for p in exc.problems], []
    warnings = [
        f"alertmanagers: {e.name}: token_env {e.token_env} is not set"
        for e in data.alertmanagers
        if e.token_env and not env.get(e.token_env)
    ]
    if settings.alertmanager_url and known.get(DEFAULT_NAME) is None:
        warnings.append(
            "ALERTMANAGER_URL is not used: an alertmanagers: entry without external_url "
            "claims every Alertmanager alert"
        )
    if len(known) and settings.reconcile_interval == 0:
        warnings.append(
            "ROUTER_RECONCILE_INTERVAL is 0: an alert that ends while silenced or inhibited "
            "stays firing in Slack (Alertmanager sends no resolve for it)"
        )
    if data.silence.allow == []:
        warnings.append("silence.allow is empty: nobody may silence from Slack")
    return known, [], warnings
