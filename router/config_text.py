"""The Alertmanager parts of routes.yaml, read the way Alertmanager's YAML reads them.

Alertmanager decodes its config with Go's yaml.v2 into typed fields: a scalar
read into a string keeps the text as written (``match: {test: 2}`` is ``"2"``,
``1.50`` stays ``"1.50"``, ``start_time: 10:00`` is ``"10:00"``, not YAML 1.1's
sexagesimal 600), and a key with no value is the field's zero value (``- match:``
is no matchers, bare ``routes:`` none, ``continue:`` false). PyYAML would build
numbers, booleans and None instead, so before the document is constructed the
nodes of route trees, ``receivers`` and ``time_intervals`` are made to say what
Alertmanager reads: their scalars become strings of their own text and their
empty keys are left out (as if not written, which is the same thing).
"""

from __future__ import annotations

import yaml

_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"

ROUTE_TEXT = frozenset({"receiver", "group_wait", "group_interval", "repeat_interval"})
"""Route keys whose value is one scalar read as text."""
ROUTE_TEXT_LISTS = frozenset(
    {"group_by", "matchers", "mute_time_intervals", "active_time_intervals"}
)
ROUTE_TEXT_MAPS = frozenset({"match", "match_re"})
INTERVAL_LISTS = ("time_intervals", "mute_time_intervals")
"""Top-level lists of named time intervals (the second is Alertmanager's older name)."""


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL


def written(node: yaml.Node, null: str | None = "") -> yaml.Node:
    """A scalar as the string written; a null as ``null`` (None: left null)."""
    if not isinstance(node, yaml.ScalarNode):
        return node
    if node.tag == _NULL:
        if null is None:
            return node
        return yaml.ScalarNode(_STR, null, node.start_mark, node.end_mark)
    return yaml.ScalarNode(_STR, node.value, node.start_mark, node.end_mark, node.style)


def _drop_empty(node: yaml.MappingNode) -> None:
    """Keys with no value read as not written (Go's zero value)."""
    node.value = [(key, value) for key, value in node.value if not is_null(value)]


def _items(node: yaml.Node) -> None:
    if isinstance(node, yaml.SequenceNode):
        node.value = [written(item) for item in node.value]


def _route(node: yaml.Node) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    _drop_empty(node)
    pairs = []
    for key, value in node.value:
        name = key.value
        if name in ROUTE_TEXT:
            value = written(value)
        elif name in ROUTE_TEXT_LISTS:
            _items(value)
        elif name in ROUTE_TEXT_MAPS and isinstance(value, yaml.MappingNode):
            # match: {x: } is x="" in Alertmanager; a regex with no value is an error there
            empty = "" if name == "match" else None
            value.value = [(written(k, k.value), written(v, empty)) for k, v in value.value]
        elif name == "routes" and isinstance(value, yaml.SequenceNode):
            for child in value.value:
                _route(child)
        pairs.append((key, value))
    node.value = pairs


def _fields(node: yaml.Node) -> None:
    """One interval: every scalar under it is text (times, weekdays, ..., location)."""
    if isinstance(node, yaml.MappingNode):
        _drop_empty(node)
        node.value = [(key, _leaves(value)) for key, value in node.value]


def _leaves(node: yaml.Node) -> yaml.Node:
    if isinstance(node, yaml.SequenceNode):
        node.value = [_leaves(item) for item in node.value]
        return node
    if isinstance(node, yaml.MappingNode):
        _fields(node)
        return node
    return written(node)


def _named_interval(node: yaml.Node) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    _drop_empty(node)
    pairs = []
    for key, value in node.value:
        if key.value == "name":
            value = written(value)
        elif key.value == "time_intervals" and isinstance(value, yaml.SequenceNode):
            for interval in value.value:
                _fields(interval)
        pairs.append((key, value))
    node.value = pairs


def as_alertmanager_reads(root: yaml.Node | None) -> None:
    """Rewrite the document's nodes in place (see the module's docstring)."""
    if not isinstance(root, yaml.MappingNode):
        return
    _drop_empty(root)
    for key, value in root.value:
        name = key.value
        if name == "routes" and isinstance(value, yaml.SequenceNode):
            for route in value.value:
                _route(route)
        elif name == "receivers" and isinstance(value, yaml.MappingNode):
            value.value = [(written(k, k.value), written(v, None)) for k, v in value.value]
        elif name in INTERVAL_LISTS and isinstance(value, yaml.SequenceNode):
            for entry in value.value:
                _named_interval(entry)
