"""Route each alerting rule as the router would, and say what reaches a runbook.

The headline counts unique alert names (kube-prometheus defines some names
twice, at two severities): a name is covered when every rule of that name
reaches a RUN- runbook. A rule that reaches one only for some values of labels
the rule does not set (``container=~"worker.*"`` comes from the series) is
reported as covered only when those hold.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from router.alert import Alert
from router.coverage.rules import AlertRule
from router.decide import Decision, Ruleset, RunbookLink
from router.matchers import Matcher
from router.routing import Route


@dataclass(frozen=True)
class Condition:
    """A route that would take the rule to a runbook if these matchers held."""

    route: str
    runbook: str
    matchers: tuple[Matcher, ...]

    def __str__(self) -> str:
        wanted = ", ".join(str(m) for m in self.matchers)
        return f"covered only when {wanted} (route {self.route} -> {self.runbook})"


@dataclass(frozen=True)
class Result:
    rule: AlertRule
    decisions: list[Decision]
    conditions: tuple[Condition, ...] = ()

    @property
    def runbooks(self) -> list[str]:
        return [d.runbook.runbook.id for d in self.decisions if d.runbook and d.runbook.runbook]

    @property
    def reasons(self) -> list[str]:
        """Why each of ``runbooks``: a route, the rule's annotations, or a claim."""
        return [d.runbook.reason for d in self.decisions if d.runbook and d.runbook.runbook]

    @property
    def claimed(self) -> list[RunbookLink]:
        """The runbooks reached because an entry's Alerts: line lists the name."""
        return [d.runbook for d in self.decisions if d.runbook and d.runbook.origin == "claim"]

    @property
    def covered(self) -> bool:
        return bool(self.runbooks)

    @property
    def posted(self) -> bool:
        """False for alerts never posted (notify: false, severity none): no runbook needed."""
        return any(d.notify for d in self.decisions)

    @property
    def outside(self) -> list[str]:
        return [d.runbook.url for d in self.decisions if d.runbook and not d.runbook.runbook]

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.rule.file,
            "line": self.rule.line,
            "alert": self.rule.name,
            "group": self.rule.group,
            "severity": self.rule.severity,
            "source": self.rule.source,
            "covered": self.covered,
            "posted": self.posted,
            "runbooks": self.runbooks,
            "runbook_reasons": self.reasons,
            "claimed_by": [link.runbook_id for link in self.claimed],
            "routes": [d.route for d in self.decisions],
            "outside_runbooks": self.outside,
            "covered_only_when": [str(c) for c in self.conditions],
        }

    def line(self) -> str:
        """One line for the uncovered list: where, what, and what would cover it."""
        severity = f" [{self.rule.severity}]" if self.rule.severity else ""
        group = f" (group {self.rule.group})" if self.rule.group else ""
        notes = [str(c) for c in self.conditions[:2]]
        if self.outside:
            notes.append(f"links outside runbook {self.outside[0]}")
        tail = f": {'; '.join(notes)}" if notes else ""
        return f"{self.rule.line}: {self.rule.name}{severity}{group}{tail}"


def _walk(
    routes: list[Route], chain: tuple[Matcher, ...] = ()
) -> Iterator[tuple[Route, tuple[Matcher, ...]]]:
    for route in routes:
        matchers = chain + route.matchers
        yield route, matchers
        yield from _walk(list(route.children), matchers)


def conditions(ruleset: Ruleset, alert: Alert, known: set[str]) -> tuple[Condition, ...]:
    """Routes to a runbook that match this alert but for labels the rule does not set."""
    found = []
    for route, matchers in _walk(ruleset.table.routes):
        if not route.runbook or route.runbook not in ruleset.catalog:
            continue
        if route.source is not None and route.source != alert.source:
            continue
        wanted = [m for m in matchers if m.name not in known and not m.matches(alert.labels)]
        settled = [m for m in matchers if m.name in known]
        if wanted and all(m.matches(alert.labels) for m in settled):
            found.append(Condition(route.name, route.runbook, tuple(wanted)))
    return tuple(found)


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
        result = Result(rule, ruleset.decide(alert))
        if not result.covered:
            result = Result(rule, result.decisions, conditions(ruleset, alert, set(labels)))
        results.append(result)
    return results


@dataclass(frozen=True)
class Coverage:
    everything: list[Result]

    @property
    def results(self) -> list[Result]:
        """The rules whose alerts are posted: the ones that need a runbook."""
        return [r for r in self.everything if r.posted]

    @property
    def quiet(self) -> list[Result]:
        return [r for r in self.everything if not r.posted]

    @property
    def names(self) -> dict[str, bool]:
        """Alert name -> covered (every rule of that name reaches a runbook)."""
        covered: dict[str, bool] = {}
        for r in self.results:
            covered[r.rule.name] = covered.get(r.rule.name, True) and r.covered
        return covered

    @property
    def percent(self) -> float:
        names = self.names
        return 100.0 * sum(names.values()) / len(names) if names else 0.0

    def by_severity(self) -> dict[str, tuple[int, int]]:
        """Severity label -> (covered, uncovered) rules."""
        counts: dict[str, Counter[bool]] = defaultdict(Counter)
        for r in self.results:
            counts[r.rule.severity or "(none)"][r.covered] += 1
        return {s: (c[True], c[False]) for s, c in sorted(counts.items())}

    def uncovered_by_file(self) -> dict[str, list[Result]]:
        out: dict[str, list[Result]] = defaultdict(list)
        for r in self.results:
            if not r.covered:
                out[r.rule.file].append(r)
        return dict(out)

    def claimed_by_file(self) -> dict[str, list[Result]]:
        """Rules covered by an entry's Alerts: line: no route names a runbook for them."""
        out: dict[str, list[Result]] = defaultdict(list)
        for r in self.results:
            if r.claimed:
                out[r.rule.file].append(r)
        return dict(out)

    def headline(self) -> str:
        names = self.names
        files = len({r.rule.file for r in self.everything})
        quiet = f"; {len(self.quiet)} never posted" if self.quiet else ""
        return (
            f"coverage: {sum(names.values())}/{len(names)} alert names reach a RUN- runbook "
            f"({self.percent:.1f}%); {sum(r.covered for r in self.results)}/{len(self.results)} "
            f"rules in {files} file(s){quiet}"
        )

    def text(self) -> Iterator[str]:
        yield self.headline()
        severities = self.by_severity()
        width = max((len(s) for s in severities), default=8)
        yield f"  {'severity'.ljust(width)}  covered  uncovered"
        for severity, (yes, no) in severities.items():
            yield f"  {severity.ljust(width)}  {yes:7d}  {no:9d}"
        uncovered = self.uncovered_by_file()
        if uncovered:
            yield f"uncovered ({sum(len(v) for v in uncovered.values())}):"
        for file, results in uncovered.items():
            yield f"  {file}"
            for r in results:
                yield f"    {r.line()}"
        claimed = self.claimed_by_file()
        if claimed:
            count = sum(len(v) for v in claimed.values())
            yield f"claimed by a runbook's Alerts: line ({count}):"
        for file, results in claimed.items():
            yield f"  {file}"
            for r in results:
                claims = "; ".join(link.reason for link in r.claimed)
                yield f"    {r.rule.line}: {r.rule.name}: {claims}"

    def as_dict(self) -> dict[str, Any]:
        names = self.names
        return {
            "alert_names": {
                "covered": sum(names.values()),
                "total": len(names),
                "percent": round(self.percent, 1),
            },
            "rules": {"covered": sum(r.covered for r in self.results), "total": len(self.results)},
            "never_posted": [r.as_dict() for r in self.quiet],
            "by_severity": {
                s: {"covered": yes, "uncovered": no} for s, (yes, no) in self.by_severity().items()
            },
            "uncovered": {
                file: [r.as_dict() for r in results]
                for file, results in self.uncovered_by_file().items()
            },
            "alerts": [r.as_dict() for r in self.everything],
        }
