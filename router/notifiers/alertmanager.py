"""Alertmanager's API v2 (and Grafana's Alertmanager-compatible one): silences and alerts.

One ``AlertmanagerAPI`` is one Alertmanager, an HA cluster counting as one: a
silence goes to the first peer that answers (peers gossip silences to each
other); alerts and silences are read from every peer and united (each peer has
the alerts Prometheus sends it). Every call has a short timeout. A peer that
does not answer is skipped; none answering is a retryable DeliveryError
(``Reason.UNAVAILABLE``); a refusal (4xx) is permanent and carries
Alertmanager's own words.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from router.errors import DeliveryError, Reason
from router.matchers import Matcher, Op

log = logging.getLogger("router.alertmanager")

TIMEOUT = 2.0
"""Seconds for one call to one peer (connecting: at most 1)."""
SILENCE_BUDGET = 2.2
"""Seconds a silence may take over all peers: it is made while Slack waits (3 s)."""
MAX_DETAIL = 300


class _Api(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ApiMatcher(_Api):
    name: str
    value: str
    isRegex: bool = False
    isEqual: bool = True

    @classmethod
    def of(cls, matcher: Matcher) -> ApiMatcher:
        return cls(
            name=matcher.name,
            value=matcher.value,
            isRegex=matcher.op in (Op.RE, Op.NRE),
            isEqual=matcher.op in (Op.EQ, Op.RE),
        )

    def text(self) -> str:
        op = {(False, True): Op.EQ, (False, False): Op.NE, (True, True): Op.RE}.get(
            (self.isRegex, self.isEqual), Op.NRE
        )
        return str(Matcher(self.name, op, self.value))


class _State(_Api):
    state: str = ""


class ApiSilence(_Api):
    id: str
    status: _State = Field(default_factory=_State)
    matchers: list[ApiMatcher] = Field(default_factory=list)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    updatedAt: datetime | None = None
    createdBy: str = ""
    comment: str = ""


class _AlertStatus(_Api):
    state: str = ""
    silencedBy: list[str] = Field(default_factory=list)
    inhibitedBy: list[str] = Field(default_factory=list)


class ApiAlert(_Api):
    fingerprint: str
    labels: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    status: _AlertStatus = Field(default_factory=_AlertStatus)


class _Status(_Api):
    uptime: datetime | None = None


@dataclass(frozen=True)
class Listing:
    """``GET /api/v2/alerts`` over the peers that answered, united by fingerprint."""

    alerts: dict[str, ApiAlert]
    answered: tuple[str, ...]
    failed: tuple[str, ...] = ()
    started_at: float | None = None
    """When the longest-running answering peer started (None: it did not say)."""


def redacted(url: str) -> str:
    """A URL for the log: without user:password."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def _detail(response: httpx.Response) -> str:
    """Alertmanager's error text (a JSON string or plain text), cut short."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body = body.get("message", "")
    text = body if isinstance(body, str) else ""
    return " ".join(text.split())[:MAX_DETAIL] or f"HTTP {response.status_code}"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class AlertmanagerAPI:
    name: str
    urls: Sequence[str]
    token: str | None = field(default=None, repr=False)
    source: str = "alertmanager"
    external_url: str | None = None
    transport: httpx.BaseTransport | None = field(default=None, repr=False)
    timeout: float = TIMEOUT

    def __post_init__(self) -> None:
        headers = {"Accept": "application/json", "User-Agent": "runbook-router"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._client = httpx.Client(
            headers=headers, transport=self.transport, follow_redirects=False, trust_env=False
        )

    def close(self) -> None:
        self._client.close()

    # -- one peer ------------------------------------------------------------------

    def _call(
        self, base: str, method: str, path: str, timeout: float, body: Any = None
    ) -> httpx.Response | None:
        """One peer's answer; None if it gave none (down, too slow, 5xx)."""
        limit = httpx.Timeout(timeout, connect=min(1.0, timeout))
        try:
            response = self._client.request(method, base + path, json=body, timeout=limit)
        except httpx.HTTPError as exc:
            log.warning(
                "alertmanager %s: %s %s: %s", self.name, method, redacted(base), type(exc).__name__
            )
            return None
        if response.status_code >= 500 and "already expired" not in response.text:
            log.warning(
                "alertmanager %s: %s %s: HTTP %s",
                self.name,
                method,
                redacted(base),
                response.status_code,
            )
            return None
        return response

    def _refused(self, response: httpx.Response) -> DeliveryError:
        if response.status_code in (401, 403):
            return DeliveryError(
                Reason.AUTH,
                f"Alertmanager {self.name} refused the token (HTTP {response.status_code})",
                retryable=False,
            )
        return DeliveryError(Reason.OTHER, _detail(response), retryable=False)

    def _unavailable(self, what: str) -> DeliveryError:
        return DeliveryError(
            Reason.UNAVAILABLE, f"Alertmanager {self.name} did not answer ({what})", retryable=True
        )

    def _first(
        self, method: str, path: str, body: Any = None, budget: float | None = None
    ) -> httpx.Response:
        """The first peer's answer, in order, within ``budget`` seconds overall."""
        deadline = time.monotonic() + (
            budget if budget is not None else self.timeout * len(self.urls)
        )
        for base in self.urls:
            left = deadline - time.monotonic()
            if left <= 0.05:
                break
            response = self._call(base, method, path, min(self.timeout, left), body)
            if response is not None:
                return response
        raise self._unavailable(f"{method} {path}")

    def _all(self, path: str) -> tuple[list[tuple[str, httpx.Response]], list[str]]:
        answered: list[tuple[str, httpx.Response]] = []
        failed: list[str] = []
        for base in self.urls:
            response = self._call(base, "GET", path, self.timeout)
            if response is None:
                failed.append(base)
            elif response.status_code >= 400:
                raise self._refused(response)
            else:
                answered.append((base, response))
        return answered, failed

    # -- silences ------------------------------------------------------------------

    def create_silence(
        self,
        matchers: Sequence[Matcher],
        starts_at: float,
        ends_at: float,
        created_by: str,
        comment: str,
        *,
        replaces: str | None = None,
        budget: float = SILENCE_BUDGET,
    ) -> str:
        """``POST /api/v2/silences``; the silence's ID. ``replaces``: extend that one
        (Alertmanager updates it in place, or expires it and answers a new ID)."""
        body: dict[str, Any] = {
            "matchers": [ApiMatcher.of(m).model_dump() for m in matchers],
            "startsAt": _iso(starts_at),
            "endsAt": _iso(ends_at),
            "createdBy": created_by,
            "comment": comment,
        }
        if replaces:
            body["id"] = replaces
        response = self._first("POST", "/api/v2/silences", body, budget)
        if response.status_code >= 400:
            raise self._refused(response)
        try:
            silence_id = response.json()["silenceID"]
        except (ValueError, KeyError, TypeError):
            raise DeliveryError(
                Reason.OTHER, "no silenceID in the answer", retryable=False
            ) from None
        return str(silence_id)

    def expire_silence(self, silence_id: str, budget: float | None = None) -> None:
        """``DELETE /api/v2/silence/{id}``; one already expired or gone is fine."""
        response = self._first(
            "DELETE", f"/api/v2/silence/{quote(silence_id, safe='')}", budget=budget
        )
        if response.status_code == 404 or "already expired" in response.text:
            return
        if response.status_code >= 400:
            raise self._refused(response)

    def silences(self) -> dict[str, ApiSilence]:
        """Every silence the peers know, by ID (the most recently updated copy)."""
        answered, _ = self._all("/api/v2/silences")
        if not answered:
            raise self._unavailable("GET /api/v2/silences")
        found: dict[str, ApiSilence] = {}
        for _, response in answered:
            for item in _items(response):
                try:
                    silence = ApiSilence.model_validate(item)
                except ValidationError:
                    continue
                known = found.get(silence.id)
                if known is None or (silence.updatedAt or _EPOCH) > (known.updatedAt or _EPOCH):
                    found[silence.id] = silence
        return found

    # -- alerts --------------------------------------------------------------------

    def alerts(self) -> Listing:
        """Every alert the peers list (active, silenced, inhibited), united."""
        answered, failed = self._all("/api/v2/alerts")
        if not answered:
            raise self._unavailable("GET /api/v2/alerts")
        alerts: dict[str, ApiAlert] = {}
        for _, response in answered:
            for item in _items(response):
                try:
                    alert = ApiAlert.model_validate(item)
                except ValidationError:
                    continue
                alerts.setdefault(alert.fingerprint, alert)
        starts = [s for base, _ in answered if (s := self._started(base)) is not None]
        return Listing(
            alerts, tuple(b for b, _ in answered), tuple(failed), min(starts) if starts else None
        )

    def _started(self, base: str) -> float | None:
        """When a peer started (``GET /api/v2/status`` uptime); None if it does not say."""
        response = self._call(base, "GET", "/api/v2/status", self.timeout)
        if response is None or response.status_code >= 400:
            return None
        try:
            uptime = _Status.model_validate(response.json()).uptime
        except (ValueError, ValidationError):
            return None
        return uptime.timestamp() if uptime is not None else None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _items(response: httpx.Response) -> list[Any]:
    try:
        body = response.json()
    except ValueError:
        return []
    return body if isinstance(body, list) else []
