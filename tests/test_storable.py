"""``clean`` and ``text``: what a database refuses is replaced, everything else kept."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from router import storable

TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"), st.sampled_from(["\x00", "\ud800", "\udfff", "\\", "u"])
    ),
    max_size=12,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def refused(value: Any) -> bool:
    """Anything in the value that PostgreSQL or a JSON column refuses."""
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(refused(k) or refused(v) for k, v in value.items())
    if isinstance(value, list):
        return any(refused(v) for v in value)
    return False


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_text_replaces_exactly_nul_and_lone_surrogates(value: str) -> None:
    expected = "".join(
        "\u2400" if c == "\x00" else "\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value
    )
    assert storable.text(value) == expected


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_clean_leaves_nothing_refused_and_keeps_what_was_storable(value: Any) -> None:
    cleaned = storable.clean(value)
    assert not refused(cleaned)
    if not refused(value):
        assert cleaned == value


def test_what_a_database_refuses_is_replaced_however_deep() -> None:
    value = {"a\x00": [{"b": "\ud800x"}, float("nan"), 1.5, "\u00e9t\u00e9 \U0001f525"]}
    assert storable.clean(value) == {"a\u2400": [{"b": "\ufffdx"}, "nan", 1.5, "été 🔥"]}
