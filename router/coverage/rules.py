"""Alerting rules as teams keep them, read with file and line.

A file may hold several YAML documents of any kind (a full kube-prometheus
manifest set): Prometheus rule files (``groups:``) and ``PrometheusRule``
objects are read, ``kind: List`` (``kubectl get prometheusrules -o yaml``) is
opened, and every other document is skipped. A folder is read recursively, and
``-`` is standard input.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from router.alert import SourceName
from router.errors import ConfigError, Problem

RULE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class AlertRule:
    file: str
    line: int
    name: str
    group: str
    source: SourceName = "alertmanager"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")


def _value(node: yaml.Node | None) -> Any:
    return yaml.safe_load(yaml.serialize(node)) if node is not None else None


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                found: yaml.Node = v
                return found
    return None


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _rule_groups(doc: yaml.Node) -> Iterator[yaml.Node]:
    """The ``groups`` sequences a document holds: a rule file, a PrometheusRule, a List."""
    kind = _value(_get(doc, "kind"))
    if kind == "List":
        items = _get(doc, "items")
        for item in items.value if isinstance(items, yaml.SequenceNode) else []:
            yield from _rule_groups(item)
        return
    groups = _get(_get(doc, "spec"), "groups") if kind == "PrometheusRule" else None
    if groups is None and kind is None:
        groups = _get(doc, "groups")
    if isinstance(groups, yaml.SequenceNode):
        yield groups


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ConfigError([Problem(path, None, "", f"cannot read: {reason}")]) from None


def _rules_in_text(text: str, name: str) -> list[AlertRule]:
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            [Problem(name, mark.line + 1 if mark else None, "", f"invalid YAML: {exc}")]
        ) from None
    rules: list[AlertRule] = []
    for doc in documents:
        for groups in _rule_groups(doc) if doc is not None else ():
            for group in groups.value:
                group_name = str(_value(_get(group, "name")) or "")
                rule_nodes = _get(group, "rules")
                for rule in rule_nodes.value if isinstance(rule_nodes, yaml.SequenceNode) else []:
                    alert = _value(_get(rule, "alert"))
                    if not alert:
                        continue  # a recording rule
                    rules.append(
                        AlertRule(
                            file=name,
                            line=rule.start_mark.line + 1,
                            name=str(alert),
                            group=group_name,
                            labels=_strings(_value(_get(rule, "labels"))),
                            annotations=_strings(_value(_get(rule, "annotations"))),
                        )
                    )
    return rules


def load_rules(path: str | Path) -> list[AlertRule]:
    """Every alerting rule (``alert:``) in a file, a folder (recursively) or ``-``."""
    name = str(path)
    if name != "-" and Path(name).is_dir():
        files = sorted(p for p in Path(name).rglob("*") if p.suffix in RULE_SUFFIXES)
        return [rule for file in files for rule in load_rules(file)]
    return _rules_in_text(_read(name), "<stdin>" if name == "-" else name)


def load_monitor_names(path: str | Path) -> list[AlertRule]:
    """A list file: one Datadog monitor name per line; blank lines and # comments skipped."""
    rules = []
    for i, line in enumerate(_read(str(path)).splitlines(), start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            rules.append(AlertRule(str(path), i, text, "datadog monitors", source="datadog"))
    return rules
