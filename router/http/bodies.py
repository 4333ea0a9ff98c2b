"""Reading request bodies: size-capped, then decoded as JSON or a form, with clear errors.

A body whose signature cannot be checked before it is read (PagerDuty, Sentry,
Slack) is read under two bounds: a cap of its own, far above what the sender
ever sends but far below ROUTER_MAX_BODY_BYTES, and ``UnverifiedBodies``, the
bytes all such bodies may hold at once. Past that budget a new one gets 503 with
Retry-After before a byte of it is read: a crowd of junk uploads costs the
router at most the budget, and the senders retry.
"""

from __future__ import annotations

import contextlib
import json
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import orjson
from fastapi import Request
from starlette.requests import ClientDisconnect

from router import storable
from router.errors import Overloaded, PayloadError, PayloadTooLarge

_JSON_TYPES = ("application/json", "text/json")
_SPACE = re.compile(r"[ \t\n\r]*")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_INTEGERS = (b"0" * 20, b"-" + b"0" * 19)
"""Digits of an integer orjson may read as a float (past 64 bits), digits made 0."""


def _long_integer(body: bytes) -> bool:
    """Digits that may be an integer past 64 bits (a regex takes ten times as long)."""
    zeros = body.translate(_DIGITS_AS_ZERO)
    return any(run in zeros for run in _LONG_INTEGERS)


RETRY_UNVERIFIED = 5
"""Seconds a sender refused for the budget is told to wait (Retry-After)."""


def declared_length(request: Request) -> int | None:
    """The body's Content-Length, if the request states one."""
    declared = request.headers.get("content-length", "").strip()
    return int(declared) if declared.isascii() and declared.isdigit() else None


class UnverifiedBodies:
    """The budget of bytes held by bodies not verified yet, across all requests.

    A request reserves what it may read (its Content-Length, or its cap when it
    sends none) before it reads a byte, and gives it back when its signature has
    been checked, however that went. Requests run on one event loop: no lock.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.held = 0

    @contextlib.contextmanager
    def hold(self, request: Request, cap: int) -> Iterator[int]:
        """Reserve room for this request's body (at most ``cap`` bytes); the room held."""
        declared = declared_length(request)
        if declared is not None and declared > cap:
            raise PayloadTooLarge(
                f"body: {declared} bytes is over the limit of {cap} for a request not yet verified"
            )
        size = cap if declared is None else declared
        if self.held + size > self.budget:
            raise Overloaded(
                "too many unverified request bodies at once (ROUTER_MAX_UNVERIFIED_BYTES); "
                "retry later",
                RETRY_UNVERIFIED,
            )
        self.held += size
        try:
            yield size
        finally:
            self.held -= size


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused (413) as soon as it is known to pass ``limit`` bytes."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"body: {declared} bytes is over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body: over the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # closed, or dropped to make room: a refusal, not a traceback
        raise PayloadError(
            "body", "the client left before sending it all", status_code=400
        ) from None
    return b"".join(chunks)


class TooMany(Exception):
    """A list in the body is longer than its limit (``loads_listing_at_most``)."""


def loads_listing_at_most(text: str, key: str, limit: int) -> Any:
    """``storable.loads``, refusing (TooMany) as soon as the top-level object's ``key``
    holds more than ``limit`` entries: what comes after the limit is never decoded, so
    a body of 300,000 tiny alerts costs what one of ``limit`` does, not thirty times it.

    Reads the top level itself and leaves every value to the JSON decoder; on any
    malformed text it hands the whole body to the decoder, whose error names the place.
    """
    try:
        return _listing_at_most(text, key, limit)
    except (json.JSONDecodeError, IndexError):
        return storable.loads(text)  # raises the decoder's own error, at its place


def _listing_at_most(text: str, key: str, limit: int) -> Any:
    decode = storable.DECODER.raw_decode

    def space(at: int) -> int:
        return _SPACE.match(text, at).end()  # type: ignore[union-attr]

    def after(at: int, close: str) -> tuple[int, bool]:
        """Past the ``,`` before the next value (False), or past ``close`` (True)."""
        at = space(at)
        if text[at] == ",":
            return space(at + 1), False
        if text[at] == close:
            return at + 1, True
        raise json.JSONDecodeError("Expecting ',' delimiter", text, at)

    at = space(0)
    if not text.startswith("{", at):
        return storable.loads(text)
    found: dict[str, Any] = {}
    at = space(at + 1)
    done = text[at] == "}"
    at += done
    while not done:
        if text[at] != '"':
            raise json.JSONDecodeError("Expecting property name", text, at)
        name, at = decode(text, at)
        at = space(at)
        if text[at] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", text, at)
        at = space(at + 1)
        if name == key and text[at] == "[":
            entries: list[Any] = []
            at = space(at + 1)
            last = text[at] == "]"
            at += last
            while not last:
                entry, at = decode(text, at)
                entries.append(entry)
                if len(entries) > limit:
                    raise TooMany(f"{key}: more than {limit}")
                at, last = after(at, "]")
            found[name] = entries
        else:
            found[name], at = decode(text, at)
        at, done = after(at, "}")
    if space(at) != len(text):
        raise json.JSONDecodeError("Extra data", text, at)
    return found


def parse_json(
    body: bytes, content_type: str | None, listing: tuple[str, int] | None = None
) -> Any:
    """The body as JSON (values made storable), or a PayloadError naming what is wrong.

    ``listing`` (a key and a limit): the top-level list at that key may hold at most
    that many entries, refused (TooMany) before the rest of it is decoded.

    orjson reads it first (a few times faster than ``json``) when it reads it as
    ``storable.loads`` does: it refuses NaN, Infinity, 1e999, lone surrogates and any
    malformed text, and an integer past 64 bits is never handed to it (it would make
    it a float); those, and a body too long to be within ``listing`` for sure, go to
    the standard decoder, whose errors name the place."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media not in _JSON_TYPES and not media.endswith("+json"):
        raise PayloadError(
            "Content-Type", f"expected application/json, got {media}", status_code=415
        )
    if (listing is None or len(body) <= 2 * listing[1]) and not _long_integer(body):
        # A list of more than ``limit`` entries needs more than 2 * limit bytes.
        with contextlib.suppress(orjson.JSONDecodeError):  # the decoder below says where
            return orjson.loads(body)
    return decode_json(body, listing)


def decode_json(body: bytes, listing: tuple[str, int] | None = None) -> Any:
    """``parse_json``'s reading with the standard decoder, whatever the body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("body", f"not UTF-8 (byte {exc.start})", status_code=400) from None
    if not text.strip():
        raise PayloadError("body", "empty; expected a JSON object", status_code=400)
    try:
        if listing is not None:
            return loads_listing_at_most(text, *listing)
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
