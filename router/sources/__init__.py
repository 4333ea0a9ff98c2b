"""Alert sources. One module each, registered here by hand (no discovery by name).

Each source supplies a pure ``read`` (JSON value and headers in, a ``Parsed`` out: its
alerts and, where the sender has them, the id that marks a redelivery and when the
event happened; raising ``PayloadError`` that names the bad path) and a ``verify`` for
its authentication. ``SOURCES`` is the one list of them, with the setting that holds
each one's credential and the label of the button to an alert's page at its source:
the router's other lists of sources (settings, ``/runbook why``, message buttons) are
read from it. Adding a source is one new module, one entry here, its name in
``SourceName`` and its secret in ``Settings``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from router.alert import Alert, SourceName
from router.sources import alertmanager, datadog, grafana, pagerduty, sentry
from router.sources._payload import NO_HEADERS, Parsed, Reader

__all__ = ["SOURCES", "Parsed", "Source", "page_button"]

OPEN_SOURCE = "open_source"
"""The action id of the button to an alert's page (router.render.buttons.Button)."""


@dataclass(frozen=True)
class Source:
    name: SourceName
    reader: Reader
    """The module's ``read``: what one request's body (and headers) says, in one pass."""
    verify: Callable[[Mapping[str, str], bytes, list[str]], None]
    secret_env: str
    """The environment variable holding the credential ``verify`` checks (a Settings field)."""
    page_button: str | Callable[[str], str] | None = "Alert source"
    """The label of the button to the alert's own page (``Alert.url``), or what makes it
    from that address; None: no such button (another one opens the same page)."""
    page_action: str = OPEN_SOURCE
    """That button's action id (a router.render.buttons.Button)."""
    signature_header: str | None = None
    """Set when the body is signed: the header must be there before the body is read.
    Otherwise ``verify`` needs only the headers and runs before the body is read."""
    signed_body_limit: int = 0
    """With ``signature_header``: the most a body may be before its signature is checked
    (router/http/bodies.py), well above what the sender sends."""
    chunked: Callable[[Any, int], Iterator[list[Alert]]] | None = None
    """For senders of many alerts in one request (and no delivery id): the alerts a
    slice at a time."""

    def read(
        self, data: Any, headers: Mapping[str, str] = NO_HEADERS, *, chunk: int | None = None
    ) -> Parsed:
        """What the request says. With ``chunk``: a body of more alerts than that, from a
        source that reads them in slices, is read later, ``chunk`` at a time, as it is
        written (``Parsed.later``), so its memory is that of a slice."""
        if chunk is not None and self.chunked is not None:
            listed = data.get("alerts") if isinstance(data, dict) else None
            if isinstance(listed, list) and len(listed) > chunk:
                later = functools.partial(self.chunked, data, chunk)
                return Parsed([], later=later, size=len(listed))
        return self.reader(data, headers)

    def parse(self, data: Any) -> list[Alert]:
        """The body's alerts (``read``'s, without headers)."""
        return self.reader(data, NO_HEADERS).alerts


def _registry(*sources: Source) -> dict[str, Source]:
    named: dict[str, Source] = {s.name: s for s in sources}
    if len(named) != len(sources):
        raise AssertionError("a source registered twice")
    return named


SOURCES: dict[str, Source] = _registry(
    Source(
        "alertmanager",
        alertmanager.read,
        alertmanager.verify,
        "ALERTMANAGER_TOKEN",
        alertmanager.page_button,
        chunked=alertmanager.chunks,
    ),
    Source(
        "grafana",
        grafana.read,
        grafana.verify,
        "GRAFANA_TOKEN",
        "Alert rule",
        chunked=grafana.chunks,
    ),
    Source(
        "pagerduty",
        pagerduty.read,
        pagerduty.verify,
        "PAGERDUTY_WEBHOOK_SECRETS",
        "Open in PagerDuty",
        "open_pagerduty",
        signature_header="x-pagerduty-signature",
        signed_body_limit=pagerduty.MAX_BODY,
    ),
    Source(
        "datadog",
        datadog.read,
        datadog.verify,
        "DATADOG_WEBHOOK_SECRET",
        None,  # the monitor link (Alert.links) is the same page
    ),
    Source(
        "sentry",
        sentry.read,
        sentry.verify,
        "SENTRY_CLIENT_SECRET",
        "Open in Sentry",
        signature_header="sentry-hook-signature",
        signed_body_limit=sentry.MAX_BODY,
    ),
)
"""Every source, by name: the only list of them."""


def page_button(source: str, url: str) -> tuple[str, str] | None:
    """The label and action id of the button to an alert's page at ``url``, from its
    source's entry (one not listed as Alertmanager's); None: no such button."""
    entry = SOURCES.get(source) or SOURCES["alertmanager"]
    label = entry.page_button
    if label is None:
        return None
    return (label if isinstance(label, str) else label(url)), entry.page_action
