from __future__ import annotations

import pytest

from router.matchers import MatcherError, Op, parse_matchers

LABELS = {"alertname": "HighErrorRate", "env": "prod-eu", "team": "payments", "empty": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # =
        ('alertname="HighErrorRate"', True),
        ("alertname=HighErrorRate", True),  # unquoted value
        ('alertname="higherrorrate"', False),  # case-sensitive
        ('missing=""', True),  # a missing label is ""
        ('empty=""', True),
        ('missing="x"', False),
        # !=
        ('team!="payments"', False),
        ('team!="search"', True),
        ('missing!=""', False),  # != "" means "label present"
        # =~ anchored at both ends
        ('env=~"prod"', False),
        ('env=~"prod.*"', True),
        ('env=~"prod-eu|prod-us"', True),
        ('env=~"rod-e"', False),
        ('env=~".*-eu"', True),
        ('missing=~".*"', True),
        ('missing=~".+"', False),
        # !~ anchored too
        ('env!~"prod"', True),
        ('env!~"prod.*"', False),
        ('missing!~".+"', True),
        # whitespace around the operator
        ('  team  =  "payments" ', True),
    ],
)
def test_operators_and_anchoring(text: str, expected: bool) -> None:
    (matcher,) = parse_matchers(text)
    assert matcher.matches(LABELS) is expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'a="say \"hi\""', 'say "hi"'),
        (r'a="back\\slash"', "back\\slash"),
        (r'a="tab\there"', "tab\there"),
        (r'a="\u00e9t\u00e9"', "été"),
        (r'a="\x41"', "A"),
        (r'a="\101"', "A"),  # octal
        ('a="été 🚨"', "été 🚨"),
        (r'a=~"10\\.0\\..*"', r"10\.0\..*"),
        ('a="has, comma"', "has, comma"),
        ('a="has } brace"', "has } brace"),
    ],
)
def test_go_string_escapes(text: str, value: str) -> None:
    (matcher,) = parse_matchers(text)
    assert matcher.value == value


def test_regex_with_escaped_dot_matches_literally() -> None:
    (matcher,) = parse_matchers(r'instance=~"10\\.0\\.0\\.[0-9]+:9100"')
    assert matcher.matches({"instance": "10.0.0.7:9100"})
    assert not matcher.matches({"instance": "10x0.0.7:9100"})


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ('alertname=~"(?i)higherror.*"', "HighErrorRate", True),
        ('alertname=~"(?i)higherror"', "HighErrorRate", False),  # still anchored
        ('env!~"(?i)PROD.*"', "prod-eu", False),
        ('msg=~"(?s)a.b"', "a\nb", True),
    ],
)
def test_leading_inline_flags_as_in_re2(text: str, value: str, expected: bool) -> None:
    (matcher,) = parse_matchers(text)
    assert matcher.matches({matcher.name: value}) is expected


def test_several_matchers_in_one_string_with_braces() -> None:
    matchers = parse_matchers('{alertname="A", env=~"prod|staging" , team!=search}')
    assert [(m.name, m.op, m.value) for m in matchers] == [
        ("alertname", Op.EQ, "A"),
        ("env", Op.RE, "prod|staging"),
        ("team", Op.NE, "search"),
    ]


def test_quoted_label_name_allows_utf8() -> None:
    (matcher,) = parse_matchers('"service.name"="checkout"')
    assert matcher.name == "service.name"
    assert matcher.matches({"service.name": "checkout"})


def test_str_round_trips() -> None:
    for text in ['a="b"', 'a!="b c"', 'a=~"x|y"', 'a!~"\\"q\\""']:
        (matcher,) = parse_matchers(text)
        assert parse_matchers(str(matcher)) == [matcher]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('env=~"prod', "unterminated quoted value"),
        ("env", "expected name, operator and value"),
        ('env=="x"', "stray quote"),
        ('a="b" c="d"', "expected ',' between matchers"),
        ('a=~"("', "invalid regex"),
        (r'a="\."', r"invalid escape \."),
        (r'a="\u12"', r"invalid escape \u12"),
        ('{a="b"', "missing closing"),
        ("", "no matcher"),
        ('1abc="x"', "expected name"),
    ],
)
def test_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(MatcherError, match=message.replace("\\", "\\\\").replace("(", r"\(")):
        parse_matchers(text)
