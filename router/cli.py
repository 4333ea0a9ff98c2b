"""``runbook-router``: serve, check, route, preview, lint, new, coverage, review, migrate, demo."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from router import alertmanagers, logs
from router.alert import Alert
from router.app import create_app
from router.config import load_routes
from router.config_values import parse_duration
from router.coverage import Coverage, evaluate, load_monitor_names, load_rules
from router.decide import Ruleset, load_ruleset
from router.deliveries.current import renderer_for
from router.demo import run
from router.errors import ConfigError, PayloadError, Problem, StoreUnavailable
from router.http.webhooks import explain_alerts, instant
from router.notifiers.log import as_text
from router.review.report import markdown, review
from router.runbooks.catalog import write_entry
from router.runbooks.lint import lint_folder
from router.runtime import start_line
from router.server import Bounds, listen, serve
from router.settings import DEFAULT_HOST, DEFAULT_PORT, Settings, address
from router.sources import SOURCES
from router.store import Store, Unrouted, UseFacts, migrate, views_of
from router.store.migrate import SchemaTooNew

log = logging.getLogger("router")

WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - recognised, never bound
"""Hosts that listen everywhere: no address a link could use."""


def _print_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:

    logs.configure(settings.log_format, settings.log_level)
    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        where = address(args.host, args.port)
        print(f"serve: cannot listen on {where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    listening = address(args.host, sock.getsockname()[1])
    if settings.public_url is None and args.host in WILDCARD_HOSTS:
        log.warning(
            "ROUTER_PUBLIC_URL is not set: links in Slack point to %s, which only this "
            "machine can open; set it to the address users reach the router at",
            listening,
        )
    settings = settings.serving(args.host, sock.getsockname()[1])
    try:
        app = create_app(settings)
    except ConfigError as exc:
        sock.close()
        _print_problems(exc.problems)
        print(f"serve: not started: {len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    bounds = Bounds(
        settings.header_timeout,
        settings.body_timeout,
        settings.keepalive_timeout,
        settings.max_connections,
    )
    runtime = app.state.runtime
    try:  # before serving, so that this refusal is one line, not a failed start-up's trace
        runtime.store.ensure_schema()
    except SchemaTooNew as exc:
        sock.close()
        runtime.store.engine.dispose()
        print(f"serve: refusing to start: {exc}", file=sys.stderr)
        return 1
    except StoreUnavailable:
        pass  # served anyway, not ready: start-up logs it and the dispatcher tries again
    serve(app, sock, bounds, announce=lambda: log.info(start_line(runtime, listening)))
    return 0


def _ruleset(args: argparse.Namespace, settings: Settings) -> Ruleset:
    """The routes and runbooks a command names (or the environment's), links filled in."""
    return load_ruleset(
        args.config or settings.config,
        args.runbooks or settings.runbooks,
        public_url=settings.public_url,
    )


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:

    config = args.config or settings.config
    runbooks = args.runbooks or settings.runbooks
    try:
        ruleset = load_ruleset(config, runbooks, strict=False, public_url=settings.public_url)
    except ConfigError as exc:
        _print_problems(exc.problems)
        print(f"check failed: {len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    for warning in ruleset.config.warnings:
        print(f"{warning} (warning)", file=sys.stderr)
    known, am_errors, am_warnings = alertmanagers.check(settings, ruleset.config.data)
    for line in am_errors:
        print(line, file=sys.stderr)
    for line in am_warnings:
        print(f"{line} (warning)", file=sys.stderr)
    for note in ruleset.config.notes:
        print(f"{note} (note)", file=sys.stderr)
    if ruleset.problems or am_errors:
        _print_problems(ruleset.problems)
        count = len(ruleset.problems) + len(am_errors)
        print(f"check failed: {count} problem(s)", file=sys.stderr)
        return 1
    routes, entries = len(ruleset.table.routes), len(ruleset.catalog)
    warnings = len(ruleset.config.warnings) + len(am_warnings)
    warned = f" ({warnings} warning(s))" if warnings else ""
    apis = ""
    if known:
        names = ", ".join(f"{a.name} ({len(a.urls)} URL(s))" for a in known)
        apis = f"; Alertmanager APIs: {names}"
    print(f"ok: {config}: {routes} routes; {runbooks}: {entries} runbooks{apis}{warned}")
    return 0


def _read_alerts(file: str, source: str) -> list[Alert] | None:
    """The payload's alerts as its source's parser reads them; None once it said why."""
    parser = SOURCES.get(source)
    if parser is None:
        known = ", ".join(sorted(SOURCES))
        print(f"{file}: unknown source {source!r} (one of {known})", file=sys.stderr)
        return None
    try:
        data = json.loads(sys.stdin.read() if file == "-" else Path(file).read_text("utf-8"))
    except OSError as exc:
        print(f"{file}: cannot read: {exc.strerror}", file=sys.stderr)
        return None
    except UnicodeDecodeError as exc:
        print(f"{file}: not UTF-8 text: {exc.reason} at byte {exc.start}", file=sys.stderr)
        return None
    except json.JSONDecodeError as exc:
        print(f"{file}:{exc.lineno}: invalid JSON: {exc.msg}", file=sys.stderr)
        return None
    try:
        return parser.parse(data)
    except PayloadError as exc:
        print(f"{file}: {exc}", file=sys.stderr)
        return None


def _ruleset_and_alerts(
    args: argparse.Namespace, settings: Settings
) -> tuple[Ruleset, list[Alert]] | None:
    """The routes and runbooks, and the payload's alerts; None once it has said why not."""
    try:
        ruleset = _ruleset(args, settings)
    except ConfigError as exc:
        _print_problems(exc.problems)
        return None
    alerts = _read_alerts(args.file, args.source)
    return None if alerts is None else (ruleset, alerts)


def cmd_route(args: argparse.Namespace, settings: Settings) -> int:
    if (loaded := _ruleset_and_alerts(args, settings)) is None:
        return 1
    ruleset, alerts = loaded
    try:
        now = instant(args.at, time.time())
    except PayloadError as exc:
        print(f"--{exc}", file=sys.stderr)
        return 1
    explained = [e.model_dump(mode="json") for e in explain_alerts(ruleset, alerts, now)]
    print(json.dumps({"alerts": explained}, indent=2, ensure_ascii=False))
    return 0


def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    """The Slack messages a payload would get: decided, grouped and drawn in memory."""
    if (loaded := _ruleset_and_alerts(args, settings)) is None:
        return 1
    ruleset, alerts = loaded
    now = time.time()
    renderer = renderer_for(ruleset, pagerduty_ack=settings.pagerduty_api_token is not None)
    views = views_of([(alert, ruleset.decide(alert)) for alert in alerts], now)
    messages = [(view.channel, renderer.render(view, now)) for view in views]
    if args.format == "blocks":
        out = [{"channel": c, "text": m.text, "blocks": m.blocks} for c, m in messages]
        print(json.dumps(out, indent=2, ensure_ascii=False))
    elif messages:  # as the log shows a post when there is no Slack token
        print("\n\n".join(f"slack post to {c}\n{as_text(m.blocks)}" for c, m in messages))
    if not messages:
        why = f"none of its {len(alerts)} alert(s) is posted" if alerts else "no alerts in it"
        print(f"{args.file}: no message: {why}", file=sys.stderr)
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:

    store = Store.from_url(settings.database_url)
    try:
        store.ensure_schema()
    except StoreUnavailable as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    finally:
        store.engine.dispose()
    print(f"schema revision {migrate.head()} is in place ({store.where})")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:

    token = settings.alertmanager_token.get_secret_value() if settings.alertmanager_token else None
    return run(args.url, token.split(",")[0] if token else None, args.resolve_after)


def _stale_after_days(args: argparse.Namespace, settings: Settings) -> int:

    if args.stale_after_days is not None:
        return int(args.stale_after_days)
    try:
        return load_routes(args.config or settings.config).data.defaults.stale_after_days
    except ConfigError:
        return 90


def cmd_lint(args: argparse.Namespace, settings: Settings) -> int:

    folder = args.dir or args.runbooks or settings.runbooks
    if not Path(folder).is_dir():
        print(f"{folder}: not a folder", file=sys.stderr)
        return 1
    try:
        today = date.fromisoformat(args.today) if args.today else date.today()
    except ValueError:
        print(f"--today {args.today!r}: expected a date, YYYY-MM-DD", file=sys.stderr)
        return 2
    report = lint_folder(folder, today, _stale_after_days(args, settings))
    if args.format == "json":
        out = {
            "runbooks": report.runbooks,
            "errors": report.errors,
            "warnings": report.warnings,
            "findings": [f.as_dict() for f in report.findings],
        }
        print(json.dumps(out, indent=2))
    else:
        for finding in report.findings:
            print(finding)
        print(report.summary())
    if report.errors:
        print(f"lint failed: {report.errors} error(s) in {folder}", file=sys.stderr)
        return 1
    if args.strict and report.warnings:
        print(f"lint failed: {report.warnings} warning(s) in {folder} (--strict)", file=sys.stderr)
        return 1
    return 0


def cmd_new(args: argparse.Namespace, settings: Settings) -> int:
    """A new entry with every section to fill in; ``lint`` flags it (RB017) until then."""
    folder = args.dir or settings.runbooks
    try:
        path = write_entry(folder, args.id, args.title)
    except ConfigError as exc:
        _print_problems(exc.problems)
        return 1
    print(f"wrote {path}: fill in every TODO, then run runbook-router lint {folder}")
    return 0


def cmd_coverage(args: argparse.Namespace, settings: Settings) -> int:

    assume = {}
    for pair in args.assume or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            print(f"--assume {pair!r}: expected label=value", file=sys.stderr)
            return 2
        assume[key] = value
    try:
        ruleset = _ruleset(args, settings)
        rules = [r for path in args.rules for r in load_rules(path)]
        rules += [r for path in args.datadog or [] for r in load_monitor_names(path)]
    except ConfigError as exc:
        _print_problems(exc.problems)
        return 1
    if not rules:
        where = ", ".join([*args.rules, *(args.datadog or [])]) or "no input"
        print(f"coverage: no alerting rules found in {where}", file=sys.stderr)
        return 1
    report = Coverage(evaluate(ruleset, rules, assume))
    if args.format == "json":
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        for line in report.text():
            print(line)
    if report.percent < args.min:
        covered, total = sum(report.names.values()), len(report.names)
        print(
            f"coverage failed: {covered}/{total} alert names reach a runbook "
            f"({report.percent:.1f}%), below --min {args.min:g}%",
            file=sys.stderr,
        )
        return 1
    return 0


class ReviewReads(Protocol):
    """What ``review`` reads from the database (the store implements it)."""

    @property
    def engine(self) -> Engine: ...

    def use_facts(self, since: float, runbook_id: str | None = None) -> UseFacts: ...

    def unrouted(self, since: float, limit: int = 10) -> list[Unrouted]: ...

    def last_used(self, runbook_ids: Sequence[str] | None = None) -> dict[str, float]: ...


def _review_facts(
    store: ReviewReads, since: float
) -> tuple[UseFacts, list[Unrouted], dict[str, float]]:
    """What the database holds since ``since``; an empty one (no file, no tables) holds
    nothing. SchemaTooNew, StoreUnavailable: it cannot be read as it is."""
    nothing: tuple[UseFacts, list[Unrouted], dict[str, float]] = (UseFacts([], [], 0), [], {})
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return nothing  # read, never made: no file is an empty database
    with store.engine.connect() as conn:
        found = migrate.current(conn)
    if found is None:
        return nothing
    if found != migrate.head():
        raise StoreUnavailable(
            f"the database is at schema revision {found}, this router reads {migrate.head()}: "
            "run `runbook-router migrate` with the router that serves it"
        )
    return store.use_facts(since), store.unrouted(since), store.last_used()


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    """The quarterly review: the runbook index's template, filled in from the database."""
    try:
        period = parse_duration(args.since)
    except ValueError as exc:
        print(f"--since {args.since!r}: {exc}", file=sys.stderr)
        return 2
    days = int(period // 86400)
    if days < 1:
        print(f"--since {args.since!r}: at least a day (e.g. 90d)", file=sys.stderr)
        return 2
    try:
        ruleset = _ruleset(args, settings)
    except ConfigError as exc:
        _print_problems(exc.problems)
        return 1
    store = Store.from_url(settings.database_url)
    now = time.time()
    try:
        facts, unrouted, last_used = _review_facts(store, now - days * 86400)
    except (StoreUnavailable, OperationalError) as exc:
        print(f"review: {store.where}: {exc}", file=sys.stderr)
        return 1
    finally:
        store.engine.dispose()
    report = review(
        ruleset.catalog,
        facts,
        unrouted,
        last_used,
        now=now,
        period_days=days,
        stale_after_days=ruleset.config.data.defaults.stale_after_days,
        database=store.describe(),
        source_url=ruleset.source_url,
    )
    if report.empty:
        print(f"review: {store.where} has no alerts from the last {days} days", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        print(markdown(report), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runbook-router", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.set_defaults(func=cmd_serve)
    migrate = sub.add_parser("migrate", help="create or update the database schema, then exit")
    migrate.set_defaults(func=cmd_migrate)
    demo = sub.add_parser(
        "demo", help="send sample alerts to a running router (ALERTMANAGER_TOKEN)"
    )
    demo.add_argument("--url", default=address(DEFAULT_HOST, DEFAULT_PORT))
    demo.add_argument(
        "--resolve-after", type=float, metavar="SECONDS", help="then resolve them after this long"
    )
    demo.set_defaults(func=cmd_demo)
    new = sub.add_parser(
        "new",
        help="write a new RUN- entry, every section to fill in (lint flags it until filled)",
        description="Writes DIR/RUN-nnn-<title>.md in the RUN- format. Each part to write "
        "says TODO, which lint reports (RB017) until it is replaced. Refuses an id "
        "already used and a file that exists.",
    )
    new.add_argument("id", metavar="RUN-nnn", help="the new entry's id, e.g. RUN-015")
    new.add_argument("title", help='its title, e.g. "Redis memory high"')
    new.add_argument("--dir", help="runbooks folder (default: $ROUTER_RUNBOOKS or runbooks)")
    new.set_defaults(func=cmd_new)

    for name, func, text in (
        ("check", cmd_check, "validate routes and runbooks (exit 1 on problems)"),
        ("route", cmd_route, "print the routing decision for a payload, send nothing"),
        ("preview", cmd_preview, "print the Slack message a payload would get, send nothing"),
        (
            "lint",
            cmd_lint,
            "runbook quality: file:line: RULE-ID message (exit 1 on errors); "
            "start an entry with `new`",
        ),
        ("coverage", cmd_coverage, "which alerting rules reach no RUN- runbook"),
        ("review", cmd_review, "the quarterly runbook review, filled in from the database"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", help="routes file (default: $ROUTER_CONFIG or routes.yaml)")
        p.add_argument("--runbooks", help="runbooks folder (default: $ROUTER_RUNBOOKS or runbooks)")
        p.set_defaults(func=func)
        if name == "route":
            p.add_argument("file", help="a webhook body as the source sends it ('-' for stdin)")
            p.add_argument("--source", choices=sorted(SOURCES), default="alertmanager")
            p.add_argument(
                "--at",
                help="decide at this RFC 3339 time (default: now): whether a route's "
                "time intervals hold it, and until when",
            )
        if name == "preview":
            p.add_argument("file", help="a webhook body as the source sends it ('-' for stdin)")
            p.add_argument(
                "--source", default="alertmanager", help=f"one of {', '.join(sorted(SOURCES))}"
            )
            p.add_argument(
                "--format",
                choices=("text", "blocks"),
                default="text",
                help="text: as the log shows it; blocks: Block Kit JSON, a list of messages",
            )
        if name == "lint":
            p.add_argument("dir", nargs="?", help="runbooks folder (default: --runbooks)")
            p.add_argument("--format", choices=("text", "json"), default="text")
            p.add_argument("--strict", action="store_true", help="warnings fail too")
            p.add_argument("--stale-after-days", type=int, help="default: routes.yaml defaults")
            p.add_argument("--today", help="YYYY-MM-DD to judge staleness against")
        if name == "review":
            p.add_argument(
                "--since", default="90d", help="the period to review, back from now (default 90d)"
            )
            p.add_argument(
                "--format",
                choices=("md", "json"),
                default="md",
                help="md: the review template filled in, for a pull request; json: for tooling",
            )
        if name == "coverage":
            p.add_argument(
                "rules",
                nargs="*",
                help="rule files, PrometheusRule manifests or Lists, folders, or - (stdin)",
            )
            p.add_argument("--datadog", action="append", help="file of Datadog monitor names")
            p.add_argument("--assume", action="append", help="label=value every alert has")
            p.add_argument("--min", type=float, default=0.0, help="fail below this percent")
            p.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def _settings() -> Settings | None:
    """The environment's settings; each variable that is wrong is one line on stderr
    (its message only: the value may be a secret)."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = ".".join(str(part) for part in error["loc"])
            print(f"{name}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings()
    if settings is None:
        return 1
    try:
        return int(args.func(args, settings))
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other command-line tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
