"""``coverage``: does every alerting rule reach a RUN- runbook through routes.yaml?

``rules`` reads what a team has (rule files, PrometheusRule manifests, ``kind:
List`` dumps, mixed multi-document files, directories, stdin, Datadog monitor
lists); ``report`` routes each rule as the router would and summarises.
"""

from router.coverage.report import Coverage, Result, evaluate
from router.coverage.rules import AlertRule, load_monitor_names, load_rules

__all__ = ["AlertRule", "Coverage", "Result", "evaluate", "load_monitor_names", "load_rules"]
