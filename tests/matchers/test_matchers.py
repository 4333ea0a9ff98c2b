from __future__ import annotations

import pytest

from router.matchers import MatcherError, Op, parse, parse_matchers

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
    ("text", "value", "warns"),
    [
        (r'a="say \"hi\""', 'say "hi"', False),
        (r'a="back\\slash"', "back\\slash", False),
        (r'a="line\nbreak"', "line\nbreak", False),  # both parsers read \n as a newline
        ('a="été 🚨"', "été 🚨", False),
        (r'a=~"10\\.0\\..*"', r"10\.0\..*", False),
        ('a="has, comma"', "has, comma", False),
        ('a="has } brace"', "has } brace", False),
        # The parsers disagree: Alertmanager's default mode takes the classic reading.
        (r'a="\u00e9t\u00e9"', r"\u00e9t\u00e9", True),
        (r'a="tab\there"', r"tab\there", True),
        (r'a="\x41"', r"\x41", True),
        # The UTF-8 parser refuses \. in quotes; the classic one keeps the backslash.
        (r'a=~"10\.0\..*"', r"10\.0\..*", True),
    ],
)
def test_values_read_as_alertmanager_default_mode(text: str, value: str, warns: bool) -> None:
    parsed = parse(text)
    assert [m.value for m in parsed.matchers] == [value]
    assert (parsed.warning is not None) is warns


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
        ('env=~"prod', 'matcher value contains unescaped double quote: "prod'),
        ("env", "bad matcher format: env"),
        ('env=="x"', 'matcher value contains unescaped double quote: ="x"'),
        ('a="b" c="d"', 'matcher value contains unescaped double quote: "b" c="d"'),
        ('a=~"("', "error parsing regexp: missing closing ): `^(?:()$`"),
        ('a=~"(?=x)"', "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"),
        (r'a=~"(a)\\1"', "error parsing regexp: invalid escape sequence: `\\1`"),
        ("{{a=b", "bad matcher format: {a=b"),
    ],
)
def test_errors_are_alertmanagers(text: str, message: str) -> None:
    with pytest.raises(MatcherError) as caught:
        parse_matchers(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", []),  # no matchers: matches every alert
        ("{}", []),
        ('{a="b"', ["a"]),  # the classic fallback trims the brace (with a warning)
        ('1abc="x"', ["1abc"]),
        ("foo🙂=bar", ["foo🙂"]),
        ('{name-with-dashes="bar"}', ["name-with-dashes"]),
    ],
)
def test_accepted_as_alertmanager_accepts(text: str, names: list[str]) -> None:
    assert [m.name for m in parse_matchers(text)] == names


def test_re2_constructs_work() -> None:
    (greek,) = parse_matchers(r'a=~"\\p{Greek}+"')
    assert greek.matches({"a": "αβγ"})
    assert not greek.matches({"a": "abc"})
    (literal,) = parse_matchers(r'a=~"\\Q.*\\E"')
    assert literal.matches({"a": ".*"})
    assert not literal.matches({"a": "anything"})


def test_regex_matching_is_linear_time() -> None:
    """(x+x+)+y backtracks exponentially in Python's re; on RE2 a 64 KiB value is instant."""
    (matcher,) = parse_matchers('instance=~"(x+x+)+y"')
    value = "x" * 65536
    assert not matcher.matches({"instance": value})
    assert matcher.matches({"instance": value + "y"})


def test_lone_surrogate_in_a_label_value_does_not_break_matching() -> None:
    (matcher,) = parse_matchers('a=~"bad.value"')
    assert matcher.matches({"a": "bad\ud800value"})
