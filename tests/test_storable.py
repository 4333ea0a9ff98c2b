"""``clean``'s quick check (one pass of the C encoder) agrees with walking the value."""

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


def storable_everywhere(value: Any) -> bool:
    if isinstance(value, str):
        return not storable._UNSTORABLE.search(value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(storable_everywhere(k) and storable_everywhere(v) for k, v in value.items())
    if isinstance(value, list):
        return all(storable_everywhere(v) for v in value)
    return True


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_the_quick_check_gives_what_the_walk_gives(value: Any) -> None:
    cleaned = storable.clean(value)
    assert storable_everywhere(cleaned)
    assert repr(cleaned) == repr(storable._walk(value))  # repr: NaN is not equal to itself


def test_a_clean_value_is_returned_as_it_is() -> None:
    labels = {"alertname": "DiskFull", "summary": "\u00e9t\u00e9 \U0001f525 C:\\new"}
    assert storable.clean(labels) is labels


def test_what_a_database_refuses_is_replaced_however_deep() -> None:
    value = {"a\x00": [{"b": "\ud800x"}, float("nan"), 1.5]}
    assert storable.clean(value) == {"a\u2400": [{"b": "\ufffdx"}, "nan", 1.5]}
