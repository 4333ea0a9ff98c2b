"""The import graph of router/: no cycle, and no import upward through the layers.

Every ``import`` counts, at module level or inside a function (and under
``TYPE_CHECKING``): an import is a dependency whether it runs at start or later.
Importing ``router.a.b`` also runs ``router/a/__init__.py``, so it depends on that
package too (a module's own packages excepted: Python runs those first anyway).

Two graphs are checked for cycles: the modules', and the units' that LAYERS names (a
package such as ``router/notifiers/`` or a module such as ``router/decide.py``), where
two packages importing each other through different modules are a cycle as well.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "router"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # The flow, bottom first: a module may import its own layer and those above it in
    # this list, never one below. Sources turn payloads into alerts; the ruleset decides
    # (routes, level, runbook); the store keeps alerts, messages and the outbox; the
    # renderers draw messages and the transports, above them, send them; the Slack
    # app's work and the outbox's deliveries use both; the HTTP surfaces take requests
    # in; the composition root builds it all and serves.
    (
        "vocabulary",  # the normalized alert, records, config, settings, clock, errors
        (
            "router.alert",
            "router.storable",
            "router.records",
            "router.clock",
            "router.errors",
            "router.limits",
            "router.logs",
            "router.metrics",
            "router.heap",
            "router.timeinterval",
            "router.matchers",
            "router.config_text",
            "router.config_values",
            "router.config_alertmanagers",
            "router.config",
            "router.settings",
            "router.oncall",  # names and rotations (pure); the lookups are the transports'
        ),
    ),
    ("sources", ("router.sources",)),
    ("runbooks", ("router.runbooks",)),
    (
        "decide",
        (
            "router.routing",
            "router.severity",
            "router.storm",
            "router.decide",
            "router.coverage",
            "router.reload",
        ),
    ),
    ("store", ("router.store",)),
    (
        "render",  # Block Kit, texts and drafts: pure, nothing sent
        ("router.render", "router.review"),
    ),
    (
        "transports",  # what sends them, and the services the router calls
        ("router.notifiers", "router.alertmanagers", "router.oncall.lookup"),
    ),
    ("slackapp", ("router.slackapp",)),
    ("outbox", ("router.dispatcher", "router.deliveries", "router.chores")),
    ("http", ("router.access", "router.http", "router.web")),
    (
        "composition",
        (
            "router",
            "router.runtime",
            "router.app",
            "router.server",
            "router.cli",
            "router.demo",
            "router.__main__",
        ),
    ),
)

KNOWN_UPWARD: frozenset[tuple[str, str]] = frozenset()
"""Upward imports left this session in other helpers' areas, each removed by the helper
named; the coordinator empties this after merging theirs (the test fails while an
entry here is no longer true, so the list only shrinks)."""

KNOWN_CYCLES: frozenset[tuple[str, ...]] = frozenset()
"""Cycles (their members, sorted) left this session, each removed by the helper named;
emptied by the coordinator after merging (as KNOWN_UPWARD)."""


def _module_names() -> dict[str, Path]:
    names = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if "migrations" in parts:
            continue  # Alembic's revisions and env.py: scripts Alembic runs, not modules
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


MODULES = _module_names()


def _packages_of(name: str) -> set[str]:
    """``router.a.b.c`` -> ``router.a``, ``router.a.b`` (router itself is no dependency)."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(2, len(parts))}


def _resolve(name: str) -> str | None:
    """The router module an import names (``from router.x import y`` may name a module
    ``router.x.y`` or a name in ``router.x``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(name: str, path: Path) -> set[str]:
    """The router modules ``name`` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            in_router = target == "router" or target.startswith("router.")
            if in_router and (module := _resolve(target)) is not None:
                found.add(module)
    own = _packages_of(name) | {name}
    return {d for m in found for d in {m} | _packages_of(m)} - own


GRAPH: dict[str, set[str]] = {name: _imports(name, path) for name, path in MODULES.items()}


def _placed(name: str) -> tuple[int, str]:
    """The layer, and the LAYERS entry naming the module (its longest prefix there)."""
    best: tuple[int, str] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            names_it = name == prefix or name.startswith(prefix + ".")
            if names_it and (best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    assert best is not None, f"{name} is in no layer: add it to LAYERS"
    return best


def _layer_of(name: str) -> int:
    return _placed(name)[0]


def _unit_of(name: str) -> str:
    """The unit LAYERS names: ``router.render.message`` -> ``router.render``."""
    return _placed(name)[1]


def _cycles(graph: Mapping[str, Iterable[str]]) -> set[tuple[str, ...]]:
    """The strongly connected components of more than one node (Tarjan's, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(tuple(sorted(component)))
    return found


def upward_edges() -> set[tuple[str, str]]:
    return {
        (name, dep)
        for name, deps in GRAPH.items()
        for dep in deps
        if _layer_of(dep) > _layer_of(name)
    }


def cycles() -> set[tuple[str, ...]]:
    units: dict[str, set[str]] = {}
    for name, deps in GRAPH.items():
        unit = _unit_of(name)
        units.setdefault(unit, set()).update(_unit_of(d) for d in deps if _unit_of(d) != unit)
    return _cycles(GRAPH) | _cycles(units)


def test_every_module_is_in_a_layer() -> None:
    assert len(MODULES) > 100
    for name in MODULES:
        _layer_of(name)


def test_the_graph_is_read_whole() -> None:
    """Function-level imports count, and a package's __init__ is a dependency."""
    assert "router.dispatcher" in GRAPH["router.deliveries.registry"]  # TYPE_CHECKING too
    assert "router.deliveries.registry" in GRAPH["router.deliveries"]  # a package's own
    assert "router.slackapp" in GRAPH["router.http.slack"]  # from router.slackapp.x import
    assert "router.store" not in GRAPH["router.store.events"]  # its own package


def test_no_upward_import() -> None:
    upward = upward_edges()
    new = sorted(upward - KNOWN_UPWARD)
    assert new == [], "imports against the layers (LAYERS): " + ", ".join(
        f"{a} -> {b} ({LAYERS[_layer_of(a)][0]} imports {LAYERS[_layer_of(b)][0]})" for a, b in new
    )
    gone = sorted(KNOWN_UPWARD - upward)
    assert gone == [], f"no longer upward: remove from KNOWN_UPWARD: {gone}"


def test_no_cycle() -> None:
    found = cycles()
    assert sorted(found - KNOWN_CYCLES) == [], "import cycles"
    gone = sorted(KNOWN_CYCLES - found)
    assert gone == [], f"no longer cycles: remove from KNOWN_CYCLES: {gone}"


def test_a_cycle_and_an_upward_edge_are_seen() -> None:
    """The checks themselves, on a small graph."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {("a", "b", "c")}
    assert _cycles({"a": {"b"}, "b": set()}) == set()
    assert _layer_of("router.oncall.lookup") > _layer_of("router.oncall")
    assert _layer_of("router.web.pages") > _layer_of("router.store.messages")
