"""Values every backend stores: what a sender may put in JSON that a database refuses.

PostgreSQL refuses NUL in text and JSON, lone surrogates are not UTF-8, JSON
columns refuse NaN and Infinity, and Python refuses to read integers of more
than 4300 digits. One such value in one alert must never make a whole request a
500 that every retry repeats. Request bodies are read with ``loads`` (numbers
that no column can hold stay as their text) and alerts are made storable by
``clean`` before anything is written: NUL becomes U+2400 (␀), a lone surrogate
U+FFFD, a non-finite float its text. Identities too long for their column are
hashed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

MAX_INT_DIGITS = 4000
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _number(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else text


def _integer(text: str) -> Any:
    return int(text) if len(text) <= MAX_INT_DIGITS else text


DECODER = json.JSONDecoder(parse_constant=str, parse_float=_number, parse_int=_integer)
"""``loads``'s decoder (``raw_decode`` reads one value at a time)."""


def loads(text: str) -> Any:
    """``json.loads``, but NaN, Infinity, 1e999 and huge integers stay as their text."""
    return DECODER.decode(text)


def text(value: str) -> str:
    # isascii() is a flag on the string: most text is searched no further.
    if "\x00" not in value and (value.isascii() or not _UNSTORABLE.search(value)):
        return value
    return _UNSTORABLE.sub(lambda m: "\u2400" if m.group() == "\x00" else "\ufffd", value)


def clean(value: Any) -> Any:
    """Strings, keys, and floats anywhere in a JSON value, made storable."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {text(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def identity(value: str, limit: int) -> str:
    """An identity within ``limit`` characters: itself, or a stable hash of it."""
    value = text(value)
    if len(value) <= limit:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
