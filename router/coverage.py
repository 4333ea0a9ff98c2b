"""``coverage``: does every alerting rule reach a RUN- runbook through routes.yaml?

Reads Prometheus rule files (``groups:``) and ``PrometheusRule`` manifests, several
YAML documents to a file, and plain lists of Datadog monitor names. Each alert
is routed with its rule's labels (plus ``--assume`` labels a rule cannot know,
such as ``env``) and annotations, as the router would route it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from router.alert import Alert, SourceName
from router.decide import Decision, Ruleset
from router.errors import ConfigError, Problem


@dataclass(frozen=True)
class AlertRule:
    file: str
    line: int
    name: str
    group: str
    source: SourceName = "alertmanager"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    rule: AlertRule
    decisions: list[Decision]

    @property
    def runbooks(self) -> list[str]:
        return [d.runbook.runbook.id for d in self.decisions if d.runbook and d.runbook.runbook]

    @property
    def covered(self) -> bool:
        return bool(self.runbooks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.rule.file,
            "line": self.rule.line,
            "alert": self.rule.name,
            "group": self.rule.group,
            "source": self.rule.source,
            "covered": self.covered,
            "runbooks": self.runbooks,
            "routes": [d.route for d in self.decisions],
            "outside_runbooks": [
                d.runbook.url for d in self.decisions if d.runbook and not d.runbook.runbook
            ],
        }


def _value(node: yaml.Node | None) -> Any:
    return yaml.safe_load(yaml.serialize(node)) if node is not None else None


def _get(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                found: yaml.Node = v
                return found
    return None


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def load_rules(path: str | Path) -> list[AlertRule]:
    """Every alerting rule (``alert:``) in a rule file or PrometheusRule manifests."""
    name = str(path)
    try:
        documents = list(
            yaml.compose_all(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        )
    except OSError as exc:
        raise ConfigError([Problem(name, None, "", f"cannot read: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            [Problem(name, mark.line + 1 if mark else None, "", f"invalid YAML: {exc}")]
        ) from None
    rules: list[AlertRule] = []
    for doc in documents:
        if doc is None:
            continue
        groups = _get(doc, "groups")
        if _value(_get(doc, "kind")) == "PrometheusRule":
            groups = _get(_get(doc, "spec") or doc, "groups")
        if not isinstance(groups, yaml.SequenceNode):
            line = doc.start_mark.line + 1
            raise ConfigError(
                [Problem(name, line, "groups", "not a Prometheus rule file or PrometheusRule")]
            )
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


def load_monitor_names(path: str | Path) -> list[AlertRule]:
    """A list file: one Datadog monitor name per line; blank lines and # comments skipped."""
    rules = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            rules.append(AlertRule(str(path), i, text, "datadog monitors", source="datadog"))
    return rules


def evaluate(ruleset: Ruleset, rules: list[AlertRule], assume: dict[str, str]) -> list[Result]:
    results = []
    for rule in rules:
        labels = {**assume, **rule.labels, "alertname": rule.name}
        alert = Alert(
            source=rule.source,
            status="firing",
            name=rule.name,
            fingerprint=f"{rule.file}:{rule.line}",
            group_key="coverage",
            labels=labels,
            annotations=rule.annotations,
            starts_at=datetime.now(UTC),
        )
        results.append(Result(rule, ruleset.decide(alert)))
    return results


def percent(results: list[Result]) -> float:
    return 100.0 * sum(r.covered for r in results) / len(results) if results else 100.0
