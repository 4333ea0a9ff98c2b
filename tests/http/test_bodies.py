"""The budget of unverified bodies: reserved before a byte is read, given back after."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from router.errors import Overloaded, PayloadTooLarge
from router.http.bodies import UnverifiedBodies


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
