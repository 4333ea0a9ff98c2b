"""``runbook-router``: serve, check, route."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from router.errors import ConfigError, PayloadError, Problem
from router.settings import Settings
from router.sources import SOURCES


def _print_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from router import logs
    from router.app import create_app

    logs.configure(settings.log_format, settings.log_level)
    try:
        app = create_app(settings)
    except ConfigError as exc:
        _print_problems(exc.problems)
        return 1
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from router.decide import load_ruleset

    config = args.config or settings.config
    runbooks = args.runbooks or settings.runbooks
    try:
        ruleset = load_ruleset(config, runbooks)
    except ConfigError as exc:
        _print_problems(exc.problems)
        print(f"check failed: {len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    routes, entries = len(ruleset.table.routes), len(ruleset.catalog)
    print(f"ok: {config}: {routes} routes; {runbooks}: {entries} runbooks")
    return 0


def cmd_route(args: argparse.Namespace, settings: Settings) -> int:
    from router.app import explain_alerts
    from router.decide import load_ruleset

    try:
        ruleset = load_ruleset(args.config or settings.config, args.runbooks or settings.runbooks)
    except ConfigError as exc:
        _print_problems(exc.problems)
        return 1
    path = Path(args.file)
    try:
        data = json.loads(
            sys.stdin.read() if args.file == "-" else path.read_text(encoding="utf-8")
        )
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror}", file=sys.stderr)
        return 1
    except json.JSONDecodeError as exc:
        print(f"{args.file}:{exc.lineno}: invalid JSON: {exc.msg}", file=sys.stderr)
        return 1
    try:
        alerts = SOURCES[args.source].parse(data)
    except PayloadError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"alerts": explain_alerts(ruleset, alerts)}, indent=2, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runbook-router", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(func=cmd_serve)

    for name, func, text in (
        ("check", cmd_check, "validate routes and runbooks (exit 1 on problems)"),
        ("route", cmd_route, "print the routing decision for a payload, send nothing"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", help="routes file (default: $ROUTER_CONFIG or routes.yaml)")
        p.add_argument("--runbooks", help="runbooks folder (default: $ROUTER_RUNBOOKS or runbooks)")
        p.set_defaults(func=func)
        if name == "route":
            p.add_argument("file", help="a webhook body as the source sends it ('-' for stdin)")
            p.add_argument("--source", choices=sorted(SOURCES), default="alertmanager")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args, Settings()))


if __name__ == "__main__":
    raise SystemExit(main())
