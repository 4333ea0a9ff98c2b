"""Search latency over 2,000 generated runbooks (target: p99 under 50 ms).

Run: .venv/bin/python bench/search.py [--runbooks 2000] [--queries 400] [--write]
Measures the shipped runbooks and the generated set in one run, side by side,
and with --write records the result in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router.runbooks import Runbook, Step, load_catalog  # noqa: E402
from router.runbooks.model import Command, Escalation  # noqa: E402
from router.runbooks.search import SearchIndex  # noqa: E402

COMPONENTS = [
    "postgres",
    "pgbouncer",
    "redis",
    "kafka",
    "rabbitmq",
    "celery",
    "nginx",
    "envoy",
    "istio",
    "etcd",
    "coredns",
    "ingress",
    "elasticsearch",
    "cassandra",
    "mongodb",
    "memcached",
    "vault",
    "consul",
    "prometheus",
    "grafana",
    "loki",
    "tempo",
    "argocd",
    "jenkins",
    "terraform",
    "s3",
    "cloudfront",
    "lambda",
    "sqs",
    "sns",
    "dynamodb",
    "kinesis",
    "bigquery",
    "spanner",
    "pubsub",
]
SYMPTOMS = [
    "high latency",
    "connection refused",
    "pool exhausted",
    "disk full",
    "memory leak",
    "crash loop",
    "replication lag",
    "certificate expiry",
    "queue backlog",
    "error rate spike",
    "timeouts",
    "split brain",
    "leader election",
    "oom killed",
    "throttling",
    "dns failures",
    "stale cache",
    "slow queries",
    "deadlocks",
    "packet loss",
]
ACTIONS = [
    "restart",
    "scale",
    "failover",
    "rollback",
    "drain",
    "rotate",
    "flush",
    "resize",
    "reindex",
]
CATEGORIES = ["Incident", "Deployment", "Maintenance", "Recovery", "Escalation"]


def camel(text: str) -> str:
    return "".join(w.capitalize() for w in text.split())


def generate(n: int, rng: random.Random) -> list[Runbook]:
    runbooks = []
    for i in range(n):
        component = rng.choice(COMPONENTS)
        symptom = rng.choice(SYMPTOMS)
        action = rng.choice(ACTIONS)
        steps = [
            Step(
                number=s + 1,
                title=f"{rng.choice(ACTIONS).capitalize()} {component} {rng.choice(['primary', 'replica', 'workers', 'cluster'])}",
                line=10 + s,
                text=[
                    f"Check {component} {rng.choice(SYMPTOMS)} on the {rng.choice(['dashboard', 'logs', 'metrics'])}"
                ],
                commands=[
                    Command(
                        language="bash",
                        code=f"kubectl -n prod rollout {action} deploy/{component}-{s}\n",
                        line=11 + s,
                    )
                ],
                verification=[f"{component} {rng.choice(['healthy', 'ready', 'green'])}"],
            )
            for s in range(rng.randint(3, 8))
        ]
        runbooks.append(
            Runbook(
                id=f"RUN-{i + 100:04d}",
                number=i + 100,
                title=f"{component.capitalize()} {symptom} in {rng.choice(['prod', 'eu', 'us', 'staging'])}",
                path=f"gen/{i}.md",
                category=rng.choice(CATEGORIES),
                trigger=f"{camel(component + ' ' + symptom)} alert",
                owner=f"team-{rng.randrange(40)}",
                last_tested=date(2026, rng.randint(1, 11), rng.randint(1, 28)),
                alerts=[
                    camel(f"{component} {symptom}"),
                    camel(f"{component} {rng.choice(SYMPTOMS)}"),
                ],
                symptoms=[
                    f"{component} {rng.choice(SYMPTOMS)}",
                    f"{rng.choice(SYMPTOMS)} after deploy",
                ],
                scope_handles=[f"{symptom} on {component}"],
                scope_not_handles=[f"{rng.choice(SYMPTOMS)} on {rng.choice(COMPONENTS)}"],
                steps=steps,
                do_not=[f"Do not {rng.choice(ACTIONS)} {component} without approval"],
                escalation=Escalation(when="after 20 minutes", who=f"#team-{rng.randrange(40)}"),
            )
        )
    return runbooks


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1 :]


def queries(n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        kind = rng.random()
        component, symptom = rng.choice(COMPONENTS), rng.choice(SYMPTOMS)
        if kind < 0.3:
            out.append(f"{component} {symptom}")
        elif kind < 0.5:
            out.append(camel(f"{component} {symptom}"))
        elif kind < 0.75:
            out.append(" ".join(typo(w, rng) for w in f"{component} {symptom}".split()))
        else:
            out.append(
                f"how do I {rng.choice(ACTIONS)} {component} when {symptom} and {rng.choice(SYMPTOMS)}"
            )
    return out


def measure(index: SearchIndex, qs: list[str]) -> list[float]:
    for q in qs[:20]:
        index.search(q)  # warm up
    times = []
    for q in qs:
        t0 = time.perf_counter()
        index.search(q)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runbooks", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = parser.parse_args()
    rng = random.Random(20261122)
    generated = generate(args.runbooks, rng)
    t0 = time.perf_counter()
    big = SearchIndex(generated)
    build_ms = (time.perf_counter() - t0) * 1000
    small = SearchIndex(load_catalog(ROOT / "runbooks"))
    qs = queries(args.queries, rng)
    rows = {"shipped (12)": measure(small, qs), f"generated ({args.runbooks})": measure(big, qs)}
    lines = [
        "| index | p50 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- |",
    ]
    for name, times in rows.items():
        lines.append(
            f"| {name} | {statistics.median(times):.2f} | {pct(times, 99):.2f} | {max(times):.2f} |"
        )
    big_p99 = pct(rows[f"generated ({args.runbooks})"], 99)
    ratio = big_p99 / max(pct(rows["shipped (12)"], 99), 1e-9)
    verdict = "met" if big_p99 < 50 else "MISSED"
    report = "\n".join(
        [
            f"## Search latency ({datetime.now(UTC):%Y-%m-%d})",
            "",
            f"`python bench/search.py --runbooks {args.runbooks} --queries {args.queries}`: "
            f"{args.queries} queries (a quarter with a typo), one process, one core.",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
            "",
            *lines,
            "",
            f"Index build for {args.runbooks} runbooks: {build_ms:.0f} ms (once per load/reload).",
            f"Target p99 < 50 ms: **{verdict}** ({big_p99:.2f} ms); p99 ratio generated/shipped: {ratio:.1f}x.",
            "",
        ]
    )
    publish(report, write=args.write)
    return 0 if big_p99 < 50 else 1


def publish(report: str, *, write: bool) -> None:
    """Print a benchmark's report; with --write, also record it in docs/benchmarks.md."""
    print(report)
    if write:
        write_section(report)


def write_section(report: str) -> None:
    path = ROOT / "docs/benchmarks.md"
    text = (
        path.read_text()
        if path.exists()
        else "# Benchmarks\n\nRun on demand, never in `make test`.\n\n"
    )
    title = report.split("(")[0]
    start = text.find(title)
    if start != -1:
        end = text.find("\n## ", start + 1)
        text = text[:start] + (text[end + 1 :] if end != -1 else "")
    path.write_text(text.rstrip("\n") + "\n\n" + report)


if __name__ == "__main__":
    raise SystemExit(main())
