"""The Alertmanager API client: an HA pair, short timeouts, Alertmanager's own answers."""

from __future__ import annotations

import json

import httpx
import pytest

from router.errors import DeliveryError, Reason
from router.matchers import Matcher, Op, parse_matcher
from router.notifiers.alertmanager import AlertmanagerAPI, ApiMatcher, redacted
from tests.fakes.alertmanager import FakeAlertmanager

PAIR = ["http://am-0:9093", "http://am-1:9093"]


def pair(handler: httpx.MockTransport, token: str | None = None) -> AlertmanagerAPI:
    return AlertmanagerAPI("prod", PAIR, token, transport=handler)


def test_a_silence_goes_to_the_first_peer_that_answers_with_alertmanagers_fields() -> None:
    am = FakeAlertmanager()
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.host == "am-0":
            raise httpx.ConnectError("refused", request=request)
        return am.handle(request)

    api = pair(httpx.MockTransport(handler), token="am-api-token")
    matchers = [parse_matcher('alertname="DiskFull"'), parse_matcher('env=~"prod|staging"')]
    silence_id = api.create_silence(matchers, 1000.0, 4600.0, "Jane Doe", "disk swap")
    assert seen == ["am-0", "am-1"]
    (body,) = am.posted()
    assert body == {
        "matchers": [
            {"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True},
            {"name": "env", "value": "prod|staging", "isRegex": True, "isEqual": True},
        ],
        "startsAt": "1970-01-01T00:16:40Z",
        "endsAt": "1970-01-01T01:16:40Z",
        "createdBy": "Jane Doe",
        "comment": "disk swap",
    }
    assert am.silences[silence_id]["createdBy"] == "Jane Doe"
    assert am.requests[-1].headers["Authorization"] == "Bearer am-api-token"


def test_no_peer_answering_is_retryable_and_a_refusal_is_not() -> None:
    am = FakeAlertmanager(down=True)
    with pytest.raises(DeliveryError) as down:
        pair(am.transport).create_silence([parse_matcher('a="b"')], 0, 60, "x", "y")
    assert (down.value.reason, down.value.retryable) == (Reason.UNAVAILABLE, True)
    assert am.calls("POST", "/api/v2/silences") == 2
    am = FakeAlertmanager(refuse="silence invalid: invalid label matcher 0: ...")
    with pytest.raises(DeliveryError) as refused:
        pair(am.transport).create_silence([parse_matcher('a="b"')], 0, 60, "x", "y")
    assert refused.value.retryable is False
    assert refused.value.detail == "silence invalid: invalid label matcher 0: ..."
    assert am.calls("POST", "/api/v2/silences") == 1  # the other peer would say the same


def test_a_5xx_peer_is_skipped() -> None:
    am = FakeAlertmanager()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "am-0":
            return httpx.Response(503, text="upstream down")
        return am.handle(request)

    assert pair(httpx.MockTransport(handler)).create_silence(
        [parse_matcher('a="b"')], 0, 60, "x", "y"
    )


def test_a_wrong_token_says_so_without_the_token() -> None:
    api = pair(httpx.MockTransport(lambda r: httpx.Response(401, text="unauthorized")), "s3cret")
    with pytest.raises(DeliveryError) as caught:
        api.alerts()
    assert caught.value.reason == Reason.AUTH
    assert "s3cret" not in str(caught.value)


def test_expire_is_done_also_when_already_expired_or_gone() -> None:
    am = FakeAlertmanager()
    silence_id = am.silence("ops", "x", 3600, alertname="A")
    api = pair(am.transport)
    api.expire_silence(silence_id)
    assert am.silences[silence_id]["status"]["state"] == "expired"
    api.expire_silence(silence_id)  # Alertmanager answers 500 "already expired"
    api.expire_silence("no-such-silence")  # 404


def test_alerts_are_the_union_of_the_peers_with_their_silences_and_inhibitions() -> None:
    zero, one = FakeAlertmanager(), FakeAlertmanager(started=1_795_300_000.0)
    zero.fire("aaa", {"alertname": "A"}, silenced_by=["s1"])
    one.fire("aaa", {"alertname": "A"}, silenced_by=["s1"])
    one.fire("bbb", {"alertname": "B"}, inhibited_by=["ccc"])

    def handler(request: httpx.Request) -> httpx.Response:
        return (zero if request.url.host == "am-0" else one).handle(request)

    listing = pair(httpx.MockTransport(handler)).alerts()
    assert sorted(listing.alerts) == ["aaa", "bbb"]
    assert listing.alerts["aaa"].status.silencedBy == ["s1"]
    assert listing.alerts["bbb"].status.inhibitedBy == ["ccc"]
    assert listing.answered == tuple(PAIR)
    assert listing.started_at == zero.started  # the longest-running peer


def test_one_peer_down_is_read_from_the_other_and_said() -> None:
    am = FakeAlertmanager()
    am.fire("aaa", {"alertname": "A"})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "am-0":
            raise httpx.ReadTimeout("slow", request=request)
        return am.handle(request)

    listing = pair(httpx.MockTransport(handler)).alerts()
    assert (list(listing.alerts), listing.failed) == (["aaa"], ("http://am-0:9093",))


def test_matchers_travel_both_ways_as_alertmanager_writes_them() -> None:
    for text in ('a="b"', 'a!="b"', 'a=~"b.*"', 'a!~"b.*"', '"x y"="z"'):
        matcher = parse_matcher(text)
        assert ApiMatcher.of(matcher).text() == str(matcher)
    assert ApiMatcher.of(Matcher("a", Op.NRE, "x")).model_dump() == {
        "name": "a",
        "value": "x",
        "isRegex": True,
        "isEqual": False,
    }


def test_urls_in_the_log_carry_no_credentials() -> None:
    assert redacted("http://user:pass@am:9093/api") == "http://am:9093/api"


def test_garbage_answers_are_skipped_not_fatal() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/alerts":
            return httpx.Response(200, content=json.dumps([{"nope": 1}, {"fingerprint": "f"}]))
        return httpx.Response(200, content=b"<html>")

    listing = pair(httpx.MockTransport(handler)).alerts()
    assert list(listing.alerts) == ["f"]
    assert listing.started_at is None
