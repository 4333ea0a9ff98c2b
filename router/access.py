"""Who may reach what: webhooks and Slack verify themselves; everything else is guarded here.

    surface    paths                                    guard
    public     /healthz /readyz /webhooks/* /slack/*    the endpoint's own signature or token
               /login
    read       /runbooks* /alerts* /docs* /redoc        ROUTER_READ_TOKEN (bearer, or the
               /openapi.json, anything else             session cookie /login sets), or the
                                                        user header of a trusted auth proxy;
                                                        open when neither is configured
    admin      /-/* /api/*                              ROUTER_ADMIN_TOKEN (bearer); JSON, or
                                                        no body and no Content-Type
    metrics    /metrics                                 ROUTER_METRICS_TOKEN when set

Tokens are compared in constant time; a session cookie is an expiry signed with
the read token (HMAC-SHA256), so rotating the token ends every session.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

from router.clock import Clock

SESSION_COOKIE = "router_session"
SESSION_SECONDS = 12 * 3600
_JSON_TYPES = ("application/json", "text/json")


class Surface(StrEnum):
    PUBLIC = "public"
    READ = "read"
    ADMIN = "admin"
    METRICS = "metrics"


_PUBLIC_PREFIXES = ("/webhooks/", "/slack/")
_PUBLIC_PATHS = {"/healthz", "/readyz", "/login"}


def surface(path: str) -> Surface:
    if path in _PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES):
        return Surface.PUBLIC
    if path.startswith(("/-/", "/api/")):
        return Surface.ADMIN
    if path == "/metrics":
        return Surface.METRICS
    return Surface.READ


def _matches(supplied: str, secrets: Sequence[str]) -> bool:
    return any(hmac.compare_digest(supplied.encode(), s.encode()) for s in secrets if s)


def sign_session(secret: str, expires: int) -> str:
    mac = hmac.new(secret.encode(), f"session:{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{mac}"


def session_valid(value: str, secret: str, now: float) -> bool:
    """A cookie the router signed, not expired; anything else (any non-ASCII) is not."""
    expires, _, _mac = value.partition(".")
    if not value.isascii() or not expires.isdigit() or len(expires) > 12 or int(expires) < now:
        return False
    return hmac.compare_digest(value, sign_session(secret, int(expires)))


def safe_next(target: str) -> str:
    """Only a path on this server: never another host (no ``//x``, no scheme)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/runbooks"
    return target


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _bearer(headers: dict[str, str]) -> str:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _has_body(headers: dict[str, str]) -> bool:
    """The request says it sends a body. ``curl -X POST .../-/reload``, the way
    Prometheus and Alertmanager are reloaded, sends none, and no Content-Type."""
    return "transfer-encoding" in headers or headers.get("content-length", "0").strip() != "0"


def _cookie(headers: dict[str, str], name: str) -> str:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


class AccessControl:
    """ASGI middleware: the guard for each surface (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        read_tokens: Sequence[str],
        admin_tokens: Sequence[str],
        metrics_tokens: Sequence[str],
        trusted_user_header: str | None,
        trusted_proxies: Sequence[str],
        clock: Clock,
    ) -> None:
        self.app = app
        self.read_tokens = list(read_tokens)
        self.admin_tokens = list(admin_tokens)
        self.metrics_tokens = list(metrics_tokens)
        self.user_header = (trusted_user_header or "").lower()
        self.proxies = [ipaddress.ip_network(p.strip(), strict=False) for p in trusted_proxies]
        self.clock = clock

    @property
    def reads_open(self) -> bool:
        return not self.read_tokens and not self.user_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = surface(scope["path"])
        headers = _headers(scope)
        refusal: tuple[int, str] | None = None
        if kind is Surface.ADMIN:
            refusal = self._admin(scope, headers)
        elif kind is Surface.METRICS and self.metrics_tokens:
            if not _matches(_bearer(headers), self.metrics_tokens):
                refusal = (401, "Authorization: expected the bearer token in ROUTER_METRICS_TOKEN")
        elif kind is Surface.READ and not self._reader(scope, headers):
            if "text/html" in headers.get("accept", "") and scope["method"] == "GET":
                await self._to_login(scope, send)
                return
            refusal = (401, "Authorization: expected the bearer token in ROUTER_READ_TOKEN")
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await _json(send, refusal[0], {"error": refusal[1]})

    def _admin(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        if not self.admin_tokens:
            return (401, "ROUTER_ADMIN_TOKEN is not set, so admin endpoints are refused")
        if not _matches(_bearer(headers), self.admin_tokens):
            return (401, "Authorization: expected the bearer token in ROUTER_ADMIN_TOKEN")
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        bare = not media and not _has_body(headers)  # curl -X POST .../-/reload
        if scope["method"] == "POST" and media not in _JSON_TYPES and not bare:
            return (
                415,
                f"Content-Type: expected application/json (or no body), got {media or 'none'}",
            )
        return None

    def _reader(self, scope: Scope, headers: dict[str, str]) -> bool:
        if self.reads_open:
            return True
        if self.read_tokens and _matches(_bearer(headers), self.read_tokens):
            return True
        session = _cookie(headers, SESSION_COOKIE)
        now = self.clock.now()
        if session and any(session_valid(session, t, now) for t in self.read_tokens):
            return True
        return bool(self.user_header and headers.get(self.user_header) and self._from_proxy(scope))

    def _from_proxy(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    @staticmethod
    async def _to_login(scope: Scope, send: Send) -> None:
        target = scope["path"] + (
            f"?{scope['query_string'].decode()}" if scope["query_string"] else ""
        )
        location = f"/login?next={quote(target, safe='')}"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class TrailingSlash:
    """``/runbooks/`` -> ``/runbooks``, by a relative redirect: never to the Host it was sent.

    (Starlette's own redirect builds an absolute URL from the Host header.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            target = "/" + path.strip("/")
            if scope["query_string"]:
                target += "?" + scope["query_string"].decode("latin-1")
            await send(
                {
                    "type": "http.response.start",
                    "status": 308,
                    "headers": [(b"location", quote(target, safe="/?=&%").encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)
