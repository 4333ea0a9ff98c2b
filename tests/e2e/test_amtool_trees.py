"""Real route trees (tests/data/alertmanager/trees) route as Alertmanager's own amtool says.

Each tree is an alertmanager.yml written by others (the file names its repository
and commit). The label sets in tests/data/alertmanager/trees.json are made from each
tree's own matchers: one that reaches each route, the same without each of its
labels, and random mixes of the values the tree names. Here the real
``amtool config routes test`` routes every one of them, and must say what the table
says; tests/test_routing.py holds the router to the same table.
``UPDATE_GOLDEN=1`` makes the label sets again and asks amtool for the receivers.
"""

from __future__ import annotations

import functools
import json
import random
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from router.config import parse_routes
from router.matchers import Op
from router.routing import Route, RouteTable
from tests.helpers import ROOT, UPDATE_GOLDEN, make_alert, require_binary, routes_from_alertmanager

pytestmark = pytest.mark.e2e

DATA = ROOT / "tests/data/alertmanager"
TREES = sorted((DATA / "trees").glob("*.yml"))
TABLE = DATA / "trees.json"
RANDOM_SETS = 400
CHANGED = 6
"""Each label of a set that reaches a route, changed to this many other values."""


def amtool(binary: str, tree: Path, labels: dict[str, str]) -> list[str]:
    """The receivers ``amtool config routes test`` gives these labels, in order."""
    args = [f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
            for k, v in sorted(labels.items())]  # fmt: skip
    done = subprocess.run(
        [binary, "config", "routes", "test", f"--config.file={tree}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = done.stdout.strip()
    return out.split(",") if out else []


def _sample(regex: str) -> set[str]:
    """Strings a route regex is likely written to match (its literal alternatives, a
    ``.*x.*`` filled in), for label sets; whether they match is checked after."""
    core = regex.removeprefix("^").removesuffix("$")
    core = re.sub(r"^\((.*)\)$", r"\1", core)
    found = set()
    for part in core.split("|"):
        part = part.strip("()^$")
        text = part.replace(".*", "x").replace(".+", "x").replace("\\.", ".")
        if re.fullmatch(r"[\w./:@ -]*", text):
            found.add(text)
    return found


def _walk(route: Route, path: tuple[Route, ...] = ()) -> Iterator[tuple[Route, ...]]:
    path = (*path, route)
    yield path
    for child in route.children:
        yield from _walk(child, path)


def label_sets(tree: Path) -> list[dict[str, str]]:
    """Label sets that exercise the tree: see the module's docstring."""
    config = parse_routes(routes_from_alertmanager(tree.read_text("utf-8")))
    table = RouteTable.from_config(config.data.routes, config.data.receivers)
    values: dict[str, set[str]] = {}
    for route in table.walk():
        for m in route.matchers:
            seen = values.setdefault(m.name, {"other"})
            seen |= _sample(m.value) if m.op in (Op.RE, Op.NRE) else {m.value}
    found: list[dict[str, str]] = [{}]
    rng = random.Random(tree.stem)
    for path in (p for root in table.routes for p in _walk(root)):
        labels: dict[str, str] = {}
        for name in {m.name for route in path for m in route.matchers}:
            wanted = [m for route in path for m in route.matchers if m.name == name]
            fits = [v for v in sorted(values[name]) if all(m.matches({name: v}) for m in wanted)]
            if fits and fits[0]:
                labels[name] = fits[0]
        found.append(labels)
        found += [{k: v for k, v in labels.items() if k != drop} for drop in labels]
        for name in sorted(labels):
            others = sorted(values[name] - {labels[name], ""})
            for value in rng.sample(others, min(CHANGED, len(others))):
                found.append(labels | {name: value})
    names = sorted(values)
    for _ in range(RANDOM_SETS if names else 0):
        chosen = rng.sample(names, rng.randint(1, min(4, len(names))))
        labels = {n: rng.choice(sorted(values[n])) for n in chosen}
        found.append({k: v for k, v in labels.items() if v})
    unique: dict[str, dict[str, str]] = {}
    for labels in found:
        unique.setdefault(json.dumps(labels, sort_keys=True), dict(sorted(labels.items())))
    return list(unique.values())


@functools.cache
def pasted(tree: Path) -> RouteTable:
    """The tree pasted into routes.yaml as written, each receiver posting to #receiver."""
    config = parse_routes(routes_from_alertmanager(tree.read_text("utf-8")))
    return RouteTable.from_config(config.data.routes, config.data.receivers)


def router_receivers(tree: Path, labels: dict[str, str]) -> list[str]:
    """The receivers of the routes the router takes (the channels, without their #)."""
    taken = pasted(tree).match(make_alert("x").model_copy(update={"labels": labels}))
    return [(r.channel or "")[1:] for r in taken]


def _table(binary: str) -> dict[str, Any]:
    trees = {}
    for tree in TREES:
        trees[tree.stem] = [
            {"labels": labels, "receivers": amtool(binary, tree, labels)}
            for labels in label_sets(tree)
        ]
    version = (
        subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=False
        ).stdout.split("\n")[0]
        or subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=False
        ).stderr.split("\n")[0]
    )
    return {
        "upstream": "each tree's file names its repository and commit",
        "note": f"receivers as `amtool config routes test` gives them ({version.strip()}); "
        "label sets made by tests/e2e/test_amtool_trees.py from each tree's matchers",
        "trees": trees,
    }


def test_amtool_routes_every_label_set_as_the_table_says() -> None:
    binary = require_binary("amtool")
    if UPDATE_GOLDEN:
        TABLE.write_text(json.dumps(_table(binary), indent=1) + "\n", encoding="utf-8")
    table = json.loads(TABLE.read_text("utf-8"))
    assert sorted(table["trees"]) == sorted(t.stem for t in TREES)
    for tree in TREES:
        for case in table["trees"][tree.stem]:
            assert amtool(binary, tree, case["labels"]) == case["receivers"], (tree.stem, case)
            assert router_receivers(tree, case["labels"]) == case["receivers"], (tree.stem, case)


def test_amtool_accepts_every_tree() -> None:
    binary = require_binary("amtool")
    for tree in TREES:
        subprocess.run([binary, "check-config", str(tree)], capture_output=True, check=True)
