from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.runbooks.placeholders import (
    fill,
    fill_for,
    fillings,
    malformed,
    names,
    shell_quoted,
)


@pytest.mark.parametrize(
    "text",
    [
        "kubectl drain {{ $labels.node }}",
        "kubectl drain {{$labels.node}}",
        "kubectl drain {{ .Labels.node }}",
        'kubectl drain {{ index $labels "node" }}',
        "kubectl drain {{- $labels.node -}}",
    ],
)
def test_every_spelling_fills(text: str) -> None:
    assert fill(text, {"node": "node-b7"}, quote=True) == "kubectl drain node-b7"


def test_a_missing_label_stays_visible() -> None:
    text = "kubectl -n {{ $labels.namespace }} get pod {{ $labels.pod }}"
    assert fill(text, {"pod": "api-0"}) == "kubectl -n {{ $labels.namespace }} get pod api-0"


def test_other_templates_are_left_alone() -> None:
    text = "kubectl get pods -o go-template='{{range .items}}{{.metadata.labels.app}}{{end}}'"
    assert fill(text, {"app": "x"}, quote=True) == text
    assert malformed(text) == []


@pytest.mark.parametrize(
    ("command", "value", "expected"),
    [
        ("echo {{ $labels.v }}", "a b", "echo 'a b'"),
        ("echo {{ $labels.v }}", "it's", "echo 'it'\\''s'"),
        ("echo {{ $labels.v }}", "", "echo ''"),
        ("echo '{{ $labels.v }}'", "a'b", "echo 'a'\\''b'"),
        ('echo "{{ $labels.v }}"', 'a"$b`c\\', 'echo "a\\"\\$b\\`c\\\\"'),
        ("echo {{ $labels.v }}", "$(reboot)", "echo '$(reboot)'"),
        ("echo {{ $labels.v }}", "api-0.prod:9090", "echo api-0.prod:9090"),
    ],
)
def test_values_are_quoted_for_where_they_stand(command: str, value: str, expected: str) -> None:
    assert fill(command, {"v": value}, quote=True) == expected


def test_text_is_not_quoted() -> None:
    assert fill("Check {{ $labels.v }} first", {"v": "a b"}) == "Check a b first"


@given(st.text())
def test_a_filled_word_reads_back_as_the_value(value: str) -> None:
    """Whatever the value, the shell reads the filled command as the value, one word."""
    value = value.replace("\x00", "")
    for command in ("run {{ $labels.v }} now", "run '{{ $labels.v }}' now"):
        assert shlex.split(fill(command, {"v": value}, quote=True)) == ["run", value, "now"]
    assert shlex.split(f"x {shell_quoted(value)}") == ["x", value]


def test_fillings_are_distinct_in_order() -> None:
    sets = [{"node": "b"}, {"node": "a"}, {"node": "b"}, {}]
    assert fillings("drain {{ $labels.node }}", sets) == [
        "drain b",
        "drain a",
        "drain {{ $labels.node }}",
    ]
    assert fillings("uptime", sets) == ["uptime"]


def test_names() -> None:
    assert names('{{ $labels.a }} {{ .Labels.b }} {{ index $labels "c" }} {{ $labels.a }}') == [
        "a",
        "b",
        "c",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "{{ $labels.node }",
        "{{ $label.node }}",
        "{{ labels.node }}",
        "{{ $labels. }}",
        "{{ $labels.node",
        "{{ .labels.node }}",
        "{{ $labels.node-name }}",
    ],
)
def test_malformed(text: str) -> None:
    found = malformed("first line\n" + text)
    assert [(m.line, m.text) for m in found] == [(2, text)]


def test_fill_for_names_each_distinct_value() -> None:
    text = "Cordon {{ $labels.node }} in {{ $labels.cluster }}"
    same = [{"node": "a", "cluster": "eu"}, {"node": "b", "cluster": "eu"}]
    assert fill_for(text, same) == "Cordon a, b in eu"
    assert fill_for(text, same[:1]) == fill(text, same[0]) == "Cordon a in eu"
    many = [{"node": n} for n in "abcbde"]
    assert fill_for(text, many) == "Cordon a, b, c +2 more in {{ $labels.cluster }}"
    assert fill_for(text, [{"node": "a"}, {}]) == (
        "Cordon a, {{ $labels.node }} in {{ $labels.cluster }}"
    )
    assert fill_for(text, []) == text
    assert fill_for("Check {{ $labels.v }}", [{"v": "a b"}]) == "Check a b"  # not quoted
