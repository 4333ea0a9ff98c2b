from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from router.alert import Alert
from router.config import parse_routes
from router.decide import load_ruleset
from router.errors import ConfigError
from router.routing import Route, RouteTable
from tests.helpers import ROOT, RUNBOOKS, paste_route, receiver_names, routes_from_alertmanager

TABLE = """
routes:
  - name: db-prod
    matchers: ['alertname="DatabaseConnectionPoolHigh"', 'env=~"prod|production"']
    runbook: RUN-001
    channel: "#db-oncall"
  - name: db-any
    matchers: ['alertname="DatabaseConnectionPoolHigh"']
    channel: "#db"
  - name: copy-critical
    matchers: ['severity="critical"']
    channel: "#incidents"
    continue: true
  - name: payments
    matchers: ['team="payments"']
    channel: "#payments"
  - name: datadog-only
    source: datadog
    matchers: ['service="checkout"']
    channel: "#dd"
  - name: checkout
    matchers: ['service="checkout"']
    channel: "#checkout"
"""


def alert(source: str = "alertmanager", **labels: str) -> Alert:
    return Alert(
        source=source,
        status="firing",
        name=labels.get("alertname", ""),
        fingerprint="fp",
        group_key="g",
        labels=labels,
    )


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return RouteTable.from_config(parse_routes(TABLE).data.routes)


@pytest.mark.parametrize(
    ("labels", "source", "expected"),
    [
        ({"alertname": "DatabaseConnectionPoolHigh", "env": "prod"}, "alertmanager", ["db-prod"]),
        (
            {"alertname": "DatabaseConnectionPoolHigh", "env": "production"},
            "alertmanager",
            ["db-prod"],
        ),
        # anchored regex: prod-eu is not prod
        ({"alertname": "DatabaseConnectionPoolHigh", "env": "prod-eu"}, "alertmanager", ["db-any"]),
        # first match wins: db-prod stops before copy-critical
        (
            {"alertname": "DatabaseConnectionPoolHigh", "env": "prod", "severity": "critical"},
            "alertmanager",
            ["db-prod"],
        ),
        # continue: copy-critical goes on to the next match
        (
            {"alertname": "X", "severity": "critical", "team": "payments"},
            "alertmanager",
            ["copy-critical", "payments"],
        ),
        ({"alertname": "X", "severity": "critical"}, "alertmanager", ["copy-critical"]),
        # source restriction
        ({"alertname": "X", "service": "checkout"}, "datadog", ["datadog-only"]),
        ({"alertname": "X", "service": "checkout"}, "alertmanager", ["checkout"]),
        ({"alertname": "X"}, "alertmanager", []),
    ],
)
def test_route_table(
    table: RouteTable, labels: dict[str, str], source: str, expected: list[str]
) -> None:
    assert [r.name for r in table.match(alert(source, **labels))] == expected


def test_unnamed_routes_are_named_by_position() -> None:
    table = RouteTable.from_config(parse_routes("routes:\n  - matchers: [a=b]\n").data.routes)
    assert table.routes[0].name == "routes[0]"


def test_route_without_matchers_matches_everything() -> None:
    table = RouteTable.from_config(parse_routes("routes:\n  - name: all\n").data.routes)
    assert [r.name for r in table.match(alert(alertname="anything"))] == ["all"]


def _linear(routes: list[Route], a: Alert) -> list[str]:
    taken = []
    for route in routes:
        if route.matches(a):
            taken.append(route.name)
            if not route.continue_:
                break
    return taken


def test_alertname_index_gives_the_same_answers_as_a_linear_scan() -> None:
    """The index is an optimisation only: same routes, same order, as trying each."""
    rng = random.Random(7)
    names = [f"Alert{i}" for i in range(30)]
    lines = ["routes:"]
    for i in range(300):
        kind = rng.random()
        if kind < 0.4:
            matcher = f'alertname="{rng.choice(names)}"'
        elif kind < 0.55:
            matcher = f'alertname=~"{rng.choice(names)}|{rng.choice(names)}"'
        elif kind < 0.65:
            matcher = f'team="t{rng.randrange(5)}"'
        elif kind < 0.72:
            matcher = f'team=~"t{rng.randrange(5)}|t{rng.randrange(5)}|"'  # "" matches no team
        elif kind < 0.8:
            matcher = 'alertname=~"Alert1."'  # a dot: regex, not a literal
        elif kind < 0.9:
            matcher = f'team="", alertname=~"{rng.choice(names)}"'
        else:
            matcher = f'alertname!="{rng.choice(names)}"'
        cont = "true" if rng.random() < 0.3 else "false"
        lines.append(f"  - {{name: r{i}, matchers: ['{matcher}'], continue: {cont}}}")
    table = RouteTable.from_config(parse_routes("\n".join(lines)).data.routes)
    for _ in range(500):
        team = {} if rng.random() < 0.2 else {"team": f"t{rng.randrange(6)}"}
        a = alert(alertname=rng.choice([*names, "Other"]), **team)
        assert [r.name for r in table.match(a)] == _linear(table.routes, a)


RE2_TABLE = r"""
routes:
  - name: greek
    matchers: ['region=~"\\p{Greek}+"']
    channel: "#greek"
  - name: literal
    matchers: ['path=~"\\Q/api/v1/*\\E"']
    channel: "#literal"
  - name: careless
    matchers: ['instance=~"(x+x+)+y"']
    channel: "#careless"
"""


def test_re2_only_constructs_route() -> None:
    table = RouteTable.from_config(parse_routes(RE2_TABLE).data.routes)
    assert [r.name for r in table.match(alert(region="Athens"))] == []
    assert [r.name for r in table.match(alert(region="αθηνα"))] == ["greek"]
    assert [r.name for r in table.match(alert(path="/api/v1/*"))] == ["literal"]
    assert [r.name for r in table.match(alert(path="/api/v1/users"))] == []


def test_a_regex_python_cannot_run_is_refused_with_file_and_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_routes("routes:\n  - name: x\n    matchers: ['a=~\"(?=b)b\"']\n", "r.yaml")
    assert str(caught.value) == (
        "r.yaml:3: routes[0].matchers[0]: 'a=~\"(?=b)b\"': "
        "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"
    )


def test_backtracking_pattern_routes_a_64_kib_value() -> None:
    """(x+x+)+y takes exponential time in Python's re on "xxx...x"; RE2 is linear.

    On Python's re this test would never finish; with RE2 it routes correctly.
    """
    table = RouteTable.from_config(parse_routes(RE2_TABLE).data.routes)
    value = "x" * 65536
    assert table.match(alert(instance=value)) == []
    assert [r.name for r in table.match(alert(instance=value + "y"))] == ["careless"]


ROUTE_TABLES = json.loads((ROOT / "tests/data/alertmanager/routes.json").read_text("utf-8"))


@pytest.mark.parametrize(
    "table", ROUTE_TABLES["tables"], ids=[t["test"] for t in ROUTE_TABLES["tables"]]
)
def test_alertmanager_route_trees(table: dict[str, Any]) -> None:
    """dispatch/route_test.go's trees, pasted as written (receiver, group_by, group_wait,
    ...), and its label sets reach the same receivers, in order."""
    tree = yaml.safe_load(table["alertmanager_route"])
    receivers = "".join(f"  {n}: '#{n}'\n" for n in sorted(receiver_names(tree)))
    config = parse_routes(f"receivers:\n{receivers}" + paste_route(table["alertmanager_route"]))
    table_ = RouteTable.from_config(config.data.routes, config.data.receivers)
    for case in table["cases"]:
        taken = table_.match(alert(**case["labels"]))
        assert [(r.channel or "")[1:] for r in taken] == case["receivers"], case["labels"]


def test_nested_routes_inherit_and_fall_back_to_the_parent() -> None:
    config = parse_routes(
        """
routes:
  - name: db
    matchers: ['team="db"']
    runbook: RUN-001
    channel: "#db"
    routes:
      - name: db-prod
        matchers: ['env="prod"']
        channel: "#db-prod"
        severity: SEV1
"""
    )
    table = RouteTable.from_config(config.data.routes)
    (prod,) = table.match(alert(team="db", env="prod"))
    assert (prod.name, prod.channel, prod.runbook, prod.severity) == (
        "db-prod",
        "#db-prod",
        "RUN-001",
        "SEV1",
    )
    (parent,) = table.match(alert(team="db", env="dev"))
    assert (parent.name, parent.channel) == ("db", "#db")


def test_nested_problems_name_their_path() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_routes(
            "routes:\n  - matchers: ['a=\"b\"']\n    routes:\n      - match_re: {env: '(prod'}\n",
            "r.yaml",
        )
    assert str(caught.value) == (
        "r.yaml:4: routes[0].routes[0].match_re.env: '(prod': "
        "error parsing regexp: missing closing ): `^(?:(prod)$`"
    )


TREES = ROOT / "tests/data/alertmanager/trees"
TREE_TABLE = json.loads((ROOT / "tests/data/alertmanager/trees.json").read_text("utf-8"))


@pytest.mark.parametrize("name", sorted(TREE_TABLE["trees"]))
def test_real_route_trees_pasted_as_written_route_as_amtool_does(name: str, tmp_path: Path) -> None:
    """Route trees others wrote (each file names its repository and commit), pasted into
    routes.yaml as written: ``check`` takes them, and every label set of the table made
    with the real amtool (tests/e2e/test_amtool_trees.py) reaches the same receivers."""
    text = (TREES / f"{name}.yml").read_text("utf-8")
    assert re.search(r"\bcommit [0-9a-f]{40}\b", text.replace("\n# ", " "))
    path = tmp_path / "routes.yaml"
    path.write_text(routes_from_alertmanager(text), "utf-8")
    ruleset = load_ruleset(path, RUNBOOKS)  # what `check` does: strict, runbooks too
    table = ruleset.table
    cases = TREE_TABLE["trees"][name]
    for case in cases:
        labels = case["labels"]  # a label may be called "source": not alert()'s keyword
        taken = table.match(alert().model_copy(update={"labels": labels}))
        assert [(r.channel or "")[1:] for r in taken] == case["receivers"], labels
    named = receiver_names(yaml.safe_load(text)["route"])
    assert named <= {r for case in cases for r in case["receivers"]}, "every receiver is reached"
