"""Bearer-token authentication, for senders that sign nothing (Alertmanager, Grafana)."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

from router.errors import Unauthorized


def bearer(env_name: str) -> Callable[[Mapping[str, str], bytes, list[str]], None]:
    """A ``verify`` that checks ``Authorization: Bearer <token>`` against any configured token."""

    def verify(headers: Mapping[str, str], body: bytes, secrets: list[str]) -> None:
        del body  # nothing is signed; the token is the credential
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized(f"Authorization: expected a Bearer token ({env_name})")
        supplied = token.strip().encode()
        if not any(hmac.compare_digest(supplied, s.encode()) for s in secrets):
            raise Unauthorized(f"Authorization: bearer token does not match {env_name}")

    return verify
