"""Reading request bodies: size-capped, then decoded as JSON or a form, with clear errors."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from fastapi import Request

from router import storable
from router.errors import PayloadError, PayloadTooLarge

_JSON_TYPES = ("application/json", "text/json")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused (413) as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body: {declared} bytes is over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body: over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes, content_type: str | None) -> Any:
    """The body as JSON (values made storable), or a PayloadError naming what is wrong."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media not in _JSON_TYPES and not media.endswith("+json"):
        raise PayloadError(
            "Content-Type", f"expected application/json, got {media}", status_code=415
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("body", f"not UTF-8 (byte {exc.start})", status_code=400) from None
    if not text.strip():
        raise PayloadError("body", "empty; expected a JSON object", status_code=400)
    try:
        return storable.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            "body",
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            status_code=400,
        ) from None
    except RecursionError:
        raise PayloadError("body", "JSON nested too deeply", status_code=400) from None


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body; the first value of each field."""
    try:
        fields = urllib.parse.parse_qs(body.decode("utf-8"), max_num_fields=100)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError("body", f"not a form: {exc}", status_code=400) from None
    return {k: v[0] for k, v in fields.items()}
