"""Bodies: the budget of unverified ones (reserved before a byte is read, given back
after), and decoding that stops at a list's limit."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from router import storable
from router.errors import Overloaded, PayloadError, PayloadTooLarge
from router.http.bodies import (
    TooMany,
    UnverifiedBodies,
    decode_json,
    loads_listing_at_most,
    parse_json,
)


def request(length: int | None) -> Request:
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


def test_a_body_announced_over_its_cap_is_refused_before_it_is_read() -> None:
    budget = UnverifiedBodies(10_000)
    with (
        pytest.raises(PayloadTooLarge, match="over the limit of 1000 for a request not yet"),
        budget.hold(request(1001), cap=1000),
    ):
        pass
    assert budget.held == 0


def test_past_the_budget_a_new_body_is_refused_with_a_time_to_retry() -> None:
    budget = UnverifiedBodies(2500)
    with budget.hold(request(1000), 1000), budget.hold(request(None), 1000) as room:
        assert room == 1000  # no Content-Length: its cap is held
        with (
            pytest.raises(Overloaded, match="ROUTER_MAX_UNVERIFIED_BYTES") as refused,
            budget.hold(request(600), 1000),
        ):
            pass
        assert refused.value.retry_after > 0
        with budget.hold(request(500), 1000):  # what still fits is taken
            assert budget.held == 2500
    assert budget.held == 0


def test_the_room_is_given_back_when_the_check_fails() -> None:
    budget = UnverifiedBodies(1000)
    with pytest.raises(ValueError, match="bad signature"), budget.hold(request(1000), 1000):
        raise ValueError("a bad signature")
    assert budget.held == 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
BODIES = st.dictionaries(st.sampled_from(["alerts", "version", "x"]), JSON, max_size=3)


@settings(max_examples=300, deadline=None)
@given(body=BODIES | JSON, indent=st.sampled_from([None, 0, 2]), limit=st.integers(0, 5))
def test_decoding_with_a_limit_is_decoding_until_the_limit(
    body: Any, indent: int | None, limit: int
) -> None:
    text = json.dumps(body, indent=indent)
    listed = body.get("alerts") if isinstance(body, dict) else None
    if isinstance(listed, list) and len(listed) > limit:
        with pytest.raises(TooMany):
            loads_listing_at_most(text, "alerts", limit)
    else:
        assert loads_listing_at_most(text, "alerts", limit) == storable.loads(text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet='{}[]",: 01a\\n', max_size=30))
def test_text_that_is_not_json_fails_as_the_decoder_fails_it(text: str) -> None:
    def outcome(decode: Callable[[str], Any]) -> tuple[str, Any]:
        try:
            return "decoded", decode(text)
        except json.JSONDecodeError as exc:
            return "refused", str(exc)

    assert outcome(lambda t: loads_listing_at_most(t, "alerts", 100)) == outcome(storable.loads)


NUMBERS = st.sampled_from(
    ["0", "-0", "1.5", "-2.5e-3", "1e999", "-1E400", "NaN", "Infinity", "-Infinity",
     "12345678901234567890", "-9223372036854775809", "18446744073709551615",
     "9223372036854775807", "-922337203685477580", "1234567890123456789.5e3",
     "9" * 4001, "0.1000000000000000055511151231257827", "4e-320"]
)  # fmt: skip
STRINGS = st.sampled_from(
    ['"a"', '"\\u0000"', '"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"', '"é"', '"\\t"', '"\x01"']
)


def outcome(decode: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "decoded", decode()
    except PayloadError as exc:
        return "refused", (exc.status_code, str(exc))
    except TooMany:
        return "too many", None


@settings(max_examples=400, deadline=None)
@given(
    values=st.lists(NUMBERS | STRINGS | JSON.map(json.dumps), max_size=6),
    key=st.sampled_from(["alerts", "x"]),
    limit=st.integers(0, 8),
    spoil=st.sampled_from(
        [
            lambda b: b,
            lambda b: b + b"}",
            lambda b: b + b" \n",
            lambda b: b + b",",
            lambda b: b"\xef\xbb\xbf" + b,  # a BOM
            lambda b: b + b"\xff",  # not UTF-8
            lambda b: b"[" * 1100 + b,  # deeper than orjson goes
            lambda b: b" " * 4,
        ]
    ),
)
def test_the_fast_decoder_reads_what_the_standard_one_reads(
    values: list[str], key: str, limit: int, spoil: Callable[[bytes], bytes]
) -> None:
    """orjson or not, the same value (NaN, 1e999, huge integers kept as text, lone
    surrogates) or the same refusal, naming the same place."""
    body = spoil(f'{{"{key}": [{", ".join(values)}]}}'.encode())
    for listing in (None, ("alerts", limit), ("alerts", 20_000)):
        fast = outcome(functools.partial(parse_json, body, "application/json", listing))
        standard = outcome(functools.partial(decode_json, body, listing))
        assert repr(fast) == repr(standard)
