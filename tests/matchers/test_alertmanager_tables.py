"""Alertmanager's matcher test tables (tests/data/alertmanager), run against router.matchers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from router.matchers import Matcher, MatcherError, Op, classic, parse_matcher, parse_matchers, utf8

DATA = Path(__file__).parent.parent / "data" / "alertmanager"


def cases(name: str, *, skipped: bool = True) -> list[Any]:
    """The table's cases; ``skipped=False`` leaves out those upstream marks ``skip``."""
    table = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    assert "commit" in table["upstream"]
    return [
        pytest.param(case, id=case.get("name") or repr(case["input"]))
        for case in table["cases"]
        if skipped or not case.get("skip")
    ]


def check(parse: Callable[[str], list[Matcher]], case: dict[str, Any]) -> None:
    if "err" in case:
        with pytest.raises(MatcherError) as caught:
            parse(case["input"])
        assert str(caught.value) == case["err"]
    else:
        assert [list(m.key) for m in parse(case["input"])] == case["want"]


@pytest.mark.parametrize("case", cases("utf8-matchers"))
def test_utf8_parser(case: dict[str, Any]) -> None:
    check(utf8.parse_matchers, case)


@pytest.mark.parametrize("case", cases("utf8-matcher"))
def test_utf8_parser_one_matcher(case: dict[str, Any]) -> None:
    check(lambda text: [utf8.parse_matcher(text)], case)


@pytest.mark.parametrize("case", cases("classic-matchers"))
def test_classic_parser(case: dict[str, Any]) -> None:
    check(classic.parse_matchers, case)


@pytest.mark.parametrize("case", cases("compliance", skipped=False))
def test_compliance_utf8_parser_agrees_unless_marked(case: dict[str, Any]) -> None:
    """As upstream: the UTF-8 parser alone, on the cases not marked ``skip``."""
    if "err" in case:
        with pytest.raises(MatcherError):
            utf8.parse_matchers(case["input"])
    else:
        assert [list(m.key) for m in utf8.parse_matchers(case["input"])] == case["want"]


@pytest.mark.parametrize("case", cases("compliance"))
def test_compliance_in_default_mode(case: dict[str, Any]) -> None:
    """With the classic fallback every case reads as the table says, the skipped ones too.

    Upstream marks ``skip`` where the UTF-8 parser alone differs from the classic
    reading in ``want``; Alertmanager's default mode falls back to that reading.
    """
    if "err" in case:
        with pytest.raises(MatcherError):
            parse_matchers(case["input"])
    else:
        assert [list(m.key) for m in parse_matchers(case["input"])] == case["want"]


@pytest.mark.parametrize("case", cases("fallback-matchers"))
def test_default_mode_fallback(case: dict[str, Any]) -> None:
    check(parse_matchers, case)


@pytest.mark.parametrize("case", cases("fallback-matcher"))
def test_default_mode_fallback_one_matcher(case: dict[str, Any]) -> None:
    check(lambda text: [parse_matcher(text)], case)


@pytest.mark.parametrize("case", cases("classic-label-names"))
def test_classic_label_names(case: dict[str, Any]) -> None:
    assert classic.is_valid_label_name(case["input"]) is case["valid"]


@pytest.mark.parametrize("case", cases("utf8-label-names"))
def test_utf8_label_names(case: dict[str, Any]) -> None:
    """Any non-empty UTF-8 name: the UTF-8 parser takes it quoted."""
    name = case["input"]
    if case["valid"]:
        (matcher,) = utf8.parse_matchers(f'"{name}"="x"')
        assert matcher.name == name
    else:
        with pytest.raises(MatcherError):
            utf8.parse_matchers(f'"{name}"')


@pytest.mark.parametrize("case", cases("matches"))
def test_matches(case: dict[str, Any]) -> None:
    matcher = Matcher.create("label", Op(case["op"]), case["value"])
    assert matcher.matches_value(case["input"]) is case["match"]


@pytest.mark.parametrize("case", cases("matcher-string"))
def test_string(case: dict[str, Any]) -> None:
    matcher = Matcher.create(case["name"], Op(case["op"]), case["value"])
    assert str(matcher) == case["want"]
    assert parse_matchers(str(matcher)) == [matcher]
