"""Helpers shared by the source parsers: what a parser returns, validation errors that
name the path."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from router import storable
from router.alert import Alert
from router.errors import PayloadError, dotted

M = TypeVar("M", bound=BaseModel)
NO_HEADERS: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one request says, read from its body (and headers) in one pass."""

    alerts: list[Alert]
    delivery_id: str | None = None
    """The sender's id for this delivery, the same on its retries: stored, never twice."""
    occurred_at: datetime | None = None
    """When the sender says the event happened (signed): too old is a replay."""
    later: Callable[[], Iterator[list[Alert]]] | None = None
    """Instead of ``alerts``, for a request of very many: its alerts a slice at a time,
    parsed as they are written (router.sources.Source.read)."""
    size: int = 0
    """How many alerts ``later`` holds."""


Reader = Callable[[Any, Mapping[str, str]], Parsed]
"""A source's ``read``: the body's JSON and the request's headers in, what they say out."""


def alerts_only(parse: Callable[[Any], list[Alert]]) -> Reader:
    """The ``read`` of a source whose body says nothing but its alerts."""

    def read(data: Any, headers: Mapping[str, str] = NO_HEADERS) -> Parsed:
        del headers
        return Parsed(parse(data))

    return read


def _unstorable_key(exc: ValidationError) -> bool:
    """pydantic refuses an unknown field whose name has a lone surrogate, naming no path."""
    first = exc.errors(include_url=False, include_input=False)[0]
    return first["type"] == "string_unicode" and not first["loc"]


def validate(
    model: type[M], data: Any, at: tuple[int | str, ...] = (), *, cleaned: bool = False
) -> M:
    """Validate ``data`` (found at path ``at``) against ``model``.

    The first error becomes a PayloadError naming the full path. Unknown fields are
    kept; one whose name pydantic cannot take is made storable first (router.storable).
    """
    if not isinstance(data, dict):
        where = dotted(at) or "body"
        raise PayloadError(where, f"expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        if _unstorable_key(exc) and not cleaned:
            return validate(model, storable.clean(data), at, cleaned=True)
        first = exc.errors(include_url=False, include_input=False)[0]
        raise PayloadError(dotted(at + tuple(first["loc"])), first["msg"].lower()) from None


@functools.cache
def _list_of(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def validate_items(
    model: type[M],
    items: list[Any],
    at: tuple[int | str, ...],
    start: int = 0,
    *,
    cleaned: bool = False,
) -> list[M]:
    """Validate ``items``, the entries ``start`` on of the list found at path ``at``.

    The first error becomes a PayloadError naming the entry by its place in the
    whole list (``alerts[20417].labels``), however the list was cut.
    """
    try:
        return _list_of(model).validate_python(items)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        if first["type"] == "string_unicode" and len(first["loc"]) == 1 and not cleaned:
            return validate_items(model, storable.clean(items), at, start, cleaned=True)
        index, *rest = first["loc"]
        where = (*at, int(index) + start, *rest)
        raise PayloadError(dotted(where), first["msg"].lower()) from None


def _bytes(text: str) -> bytes:
    """Text as UTF-8 to hash, a lone surrogate too (it is made storable later)."""
    return text.encode("utf-8", "surrogatepass")


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """A stable identity for a label set when the source sends none."""
    digest = hashlib.sha256()
    for key in sorted(labels):
        digest.update(_bytes(key) + b"\xff" + _bytes(labels[key]) + b"\xff")
    return digest.hexdigest()[:16]


def utc(value: datetime | None) -> datetime | None:
    """Aware UTC; a time without a zone is taken to be UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


MAX_LABELS = 500
MAX_VALUE_BYTES = 64 * 1024


def check_size(values: Mapping[str, str], path: str) -> None:
    """Label and annotation sets within bounds an alert never needs to cross."""
    if len(values) > MAX_LABELS:
        raise PayloadError(path, f"{len(values)} entries; at most {MAX_LABELS}")
    for key, value in values.items():
        if len(key) > 1024:
            raise PayloadError(f"{path}.{key[:40]}…", "name longer than 1024 characters")
        if len(value) > MAX_VALUE_BYTES:
            raise PayloadError(
                f"{path}.{key}", f"{len(value)} characters; at most {MAX_VALUE_BYTES}"
            )
