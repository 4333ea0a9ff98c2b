from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from router.cli import main
from router.store import Store
from tests.helpers import GOLDEN, ROOT, ROUTES, RUNBOOKS

ARGS = ["--config", str(ROUTES), "--runbooks", str(RUNBOOKS)]


def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *ARGS]) == 0
    routes = len(yaml.safe_load((ROUTES).read_text(encoding="utf-8"))["routes"])
    assert f"{routes} routes" in capsys.readouterr().out


def test_check_reports_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runbooks = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, runbooks)
    (runbooks / "bad.md").write_text("# RUN-050: Broken\nLast Tested: someday\n", encoding="utf-8")
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  - name: x\n    runbook: RUN-404\n", encoding="utf-8")
    assert main(["check", "--config", str(routes), "--runbooks", str(runbooks)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{runbooks}/bad.md:2: Last Tested: 'someday' is not a date (YYYY-MM-DD)",
        f"{routes}:3: routes[0].runbook: unknown runbook RUN-404",
        "check failed: 2 problem(s)",
    ]
    (runbooks / "bad.md").unlink()
    assert main(["check", "--config", str(routes), "--runbooks", str(runbooks)]) == 1
    assert (
        capsys.readouterr().err.splitlines()[0]
        == f"{routes}:3: routes[0].runbook: unknown runbook RUN-404"
    )


def test_route_prints_the_decision(capsys: pytest.CaptureFixture[str]) -> None:
    payload = GOLDEN / "sources/alertmanager/firing-group.json"
    assert main(["route", str(payload), "--source", "alertmanager", *ARGS]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["alerts"]) == 3
    decision = out["alerts"][0]["decisions"][0]
    assert (decision["route"], decision["runbook"], decision["level"], decision["channel"]) == (
        "worker-crashloop",
        "RUN-006",
        "SEV3",
        "#data-platform",
    )
    assert decision["reason"] == "severity=warning -> SEV3 (alertmanager map)"


def test_route_says_which_entry_claims_the_alert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((ROOT / "examples/alertmanager-firing.json").read_text(encoding="utf-8"))
    (alert, *_) = data["alerts"]
    alert["labels"] |= {"alertname": "KubeContainerWaiting", "container": "api"}
    data["alerts"] = [alert]
    payload = tmp_path / "waiting.json"
    payload.write_text(json.dumps(data), encoding="utf-8")
    assert main(["route", str(payload), *ARGS]) == 0
    (explained,) = json.loads(capsys.readouterr().out)["alerts"]
    (decision,) = explained["decisions"]
    assert (decision["route"], decision["runbook"], decision["runbook_reason"]) == (
        "unclaimed-critical",  # the route names no runbook: the claim applies
        "RUN-006",
        "RUN-006 lists KubeContainerWaiting",
    )


def test_check_names_both_files_of_a_name_listed_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runbooks = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, runbooks)
    rollback = runbooks / "RUN-003-emergency-rollback.md"
    text = rollback.read_text(encoding="utf-8")
    rollback.write_text(
        text.replace(
            "Last Tested: 2026-10-20\n", "Last Tested: 2026-10-20\nAlerts: SLOBurnRateFast\n"
        ),
        encoding="utf-8",
    )
    assert main(["check", "--config", str(ROUTES), "--runbooks", str(runbooks)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{runbooks}/RUN-004-bad-deploy.md:6: Alerts: SLOBurnRateFast is also listed by "
        f"RUN-003 ({rollback}:6); an alert name belongs to one entry",
        "check failed: 1 problem(s)",
    ]


def test_route_bad_payload(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"alerts": [{"labels": []}]}', encoding="utf-8")
    assert main(["route", str(bad), *ARGS]) == 1
    assert (
        capsys.readouterr().err.strip()
        == f"{bad}: alerts[0].labels: input should be a valid dictionary"
    )
    bad.write_text("{\n  oops", encoding="utf-8")
    assert main(["route", str(bad), *ARGS]) == 1
    assert capsys.readouterr().err.startswith(f"{bad}:2: invalid JSON")


@pytest.mark.parametrize(
    ("source", "payload", "route", "runbook", "level"),
    [
        ("pagerduty", "incident-triggered.json", "pagerduty-checkout", "RUN-004", "SEV1"),
        ("datadog", "triggered.json", "datadog-checkout-latency", "RUN-007", "SEV1"),
    ],
)
def test_route_for_other_sources(
    capsys: pytest.CaptureFixture[str],
    source: str,
    payload: str,
    route: str,
    runbook: str,
    level: str,
) -> None:
    path = GOLDEN / "sources" / source / payload
    assert main(["route", str(path), "--source", source, *ARGS]) == 0
    (alert,) = json.loads(capsys.readouterr().out)["alerts"]
    (decision,) = alert["decisions"]
    assert (decision["route"], decision["runbook"], decision["level"]) == (route, runbook, level)


def test_route_of_a_pagerduty_ping_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    path = GOLDEN / "sources/pagerduty/pagey-ping.json"
    assert main(["route", str(path), "--source", "pagerduty", *ARGS]) == 0
    assert json.loads(capsys.readouterr().out) == {"alerts": []}


def test_check_warns_about_deprecated_matchers_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n"
        "  - name: disks\n"
        "    matchers: ['alertname=~\"Disk\\d+\"']\n"
        "    runbook: RUN-001\n",
        encoding="utf-8",
    )
    assert main(["check", "--config", str(routes), "--runbooks", str(RUNBOOKS)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"{routes}:3: routes[0].matchers[0]: 'alertname=~\"Disk\\\\d+\"': deprecated syntax: "
        'the UTF-8 matchers parser refuses it (11:20: "Disk\\d+": invalid input); '
        'read with the classic parser; write it as alertname=~"Disk\\\\d+" (warning)'
    ]
    assert "(1 warning(s))" in captured.out


def test_check_warns_about_a_heartbeat_route_that_names_no_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n"
        "  - name: watchdog\n"
        "    matchers: ['alertname=\"Watchdog\"']\n"
        "    heartbeat: 10m\n"
        "  - name: grafana\n"
        "    source: grafana\n"
        "    routes:\n"
        "      - {name: grafana-watchdog, matchers: ['alertname=\"Heartbeat\"'], heartbeat: 5m}\n",
        encoding="utf-8",
    )
    assert main(["check", "--config", str(routes), "--runbooks", str(RUNBOOKS)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [  # the nested one has its parent's source
        f"{routes}:4: routes[0].heartbeat: no source: only alertmanager's alerts feed this "
        "heartbeat; say source: alertmanager (or the source that sends it) (warning)"
    ]
    assert "(1 warning(s))" in captured.out


EXAMPLE = ROOT / "examples/alertmanager-firing.json"


def test_preview_prints_the_message_as_the_log_shows_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What the layout holds is message.py's (and its goldens'); here: one message for
    # the group's two alerts, in the route's channel, drawn as the log notifier draws it.
    assert main(["preview", str(EXAMPLE), "--source", "alertmanager", *ARGS]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "slack post to #db-oncall"
    assert lines[1].startswith("== ")
    assert "SEV1" in lines[1]
    assert "DatabaseConnectionPoolHigh" in lines[1]
    assert sum(line.startswith("slack post to") for line in lines) == 1
    assert "RUN-001" in out
    assert "pgbouncer-0:9127" in out
    assert "pgbouncer-1:9127" in out
    assert "http://localhost:8080/runbooks/RUN-001" in out
    assert '"type"' not in out  # text, not Block Kit


def test_preview_prints_block_kit_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", str(EXAMPLE), "--format", "blocks", *ARGS]) == 0
    (message,) = json.loads(capsys.readouterr().out)
    assert message["channel"] == "#db-oncall"
    assert "DatabaseConnectionPoolHigh" in message["text"]
    header = message["blocks"][0]
    assert header["type"] == "header"
    assert "SEV1" in header["text"]["text"]
    blocks = json.dumps(message["blocks"])
    assert "RUN-001" in blocks
    assert "pgbouncer-0:9127" in blocks
    assert "pgbouncer-1:9127" in blocks
    assert any(b["type"] == "actions" for b in message["blocks"]), "the buttons too"


def test_preview_of_a_payload_with_nothing_to_post(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = GOLDEN / "sources/pagerduty/pagey-ping.json"
    assert main(["preview", str(path), "--source", "pagerduty", "--format", "blocks", *ARGS]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert captured.err == f"{path}: no message: no alerts in it\n"


def test_preview_refuses_in_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    assert main(["preview", str(missing), *ARGS]) == 1
    assert capsys.readouterr().err == f"{missing}: cannot read: No such file or directory\n"
    bad = tmp_path / "bad.json"
    bad.write_text('{"alerts": [{"labels": []}]}', encoding="utf-8")
    assert main(["preview", str(bad), *ARGS]) == 1
    assert (
        capsys.readouterr().err == f"{bad}: alerts[0].labels: input should be a valid dictionary\n"
    )
    assert main(["preview", str(EXAMPLE), "--source", "nagios", *ARGS]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{EXAMPLE}: unknown source 'nagios' (one of alertmanager,")
    assert (captured.out, captured.err.count("\n")) == ("", 1)


FILLED = [  # what someone writes over each TODO line of a new entry, in order
    "Category: Incident",
    "Trigger: RedisMemoryHigh alert (used memory above 90% of maxmemory)",
    "Owner: Cache Team",
    "Last Tested: 2026-11-20",
    "Alerts: RedisMemoryHigh",
    "- **Handles**: memory growth on the session Redis",
    "- **Does NOT handle**: Redis down (see RUN-011)",
    "- [ ] redis-cli access to the session cluster",
    "### Step 1: Find what holds the memory",
    "Sample the biggest keys.",
    "redis-cli -h {{ $labels.instance }} --bigkeys | tail -20",
    "- [ ] the largest key prefixes are known",
    "### Step 2: Expire the stale sessions",
    "Remove sessions older than a day.",
    "redis-cli -h {{ $labels.instance }} --scan --pattern 'sess:*' | head",
    "- [ ] used memory below 80% within 10 minutes",
    "- Do not FLUSHALL: it logs every user out",
    "- **When to escalate**: memory still above 90% after Step 2",
    "- **Who to contact**: #cache-oncall",
    "- **What to provide**: the Step 1 output",
    "- [ ] add a TTL to the key prefix that grew",
    "Linked IDs: RUN-011",
]


def test_new_writes_an_entry_lint_flags_until_it_is_filled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runbooks = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, runbooks)
    assert main(["new", "RUN-15", "Redis  memory high", "--dir", str(runbooks)]) == 0
    path = runbooks / "RUN-015-redis-memory-high.md"
    assert capsys.readouterr().out.startswith(f"wrote {path}: fill in every TODO")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# RUN-015: Redis memory high\n")
    # A new entry is a valid one: check passes (it claims no names yet) ...
    assert main(["check", "--config", str(ROUTES), "--runbooks", str(runbooks)]) == 0
    capsys.readouterr()
    # ... and lint lists what is left to write, in every section of the format.
    lint = ["lint", str(runbooks), "--today", "2026-11-22"]
    assert main(lint) == 1
    findings = [line for line in capsys.readouterr().out.splitlines() if str(path) in line]
    unfilled = {int(line.split(":")[1]) for line in findings if " RB017 " in line}
    lines = text.splitlines()
    assert unfilled == {n for n, line in enumerate(lines, 1) if "TODO" in line}
    sections = [n for n, line in enumerate(lines, 1) if line.startswith("## ")]
    for start, end in zip(sections, [*sections[1:], len(lines) + 1], strict=True):
        assert any(start < n < end for n in unfilled), lines[start - 1]
    for field in ("Owner", "Last Tested", "Category", "Trigger", "Linked IDs"):
        assert any(f"RB017 unfilled: '{field}: TODO" in line for line in findings), field
    assert any(" RB002 " in line for line in findings)  # no owner yet

    todo = iter(FILLED)
    filled = [next(todo) if "TODO" in line else line for line in lines]
    assert next(todo, None) is None, "one filling per TODO line"
    path.write_text("\n".join(filled) + "\n", encoding="utf-8")
    assert main(lint) == 0
    assert str(path) not in capsys.readouterr().out
    assert main(["check", "--config", str(ROUTES), "--runbooks", str(runbooks)]) == 0
    capsys.readouterr()
    why = {"alertname": "RedisMemoryHigh", "instance": "redis-0"}
    payload = tmp_path / "redis.json"
    payload.write_text(json.dumps({"alerts": [{"labels": why}]}), encoding="utf-8")
    assert main(["route", str(payload), "--config", str(ROUTES), "--runbooks", str(runbooks)]) == 0
    (alert,) = json.loads(capsys.readouterr().out)["alerts"]
    assert alert["decisions"][0]["runbook_reason"] == "RUN-015 lists RedisMemoryHigh"


def test_new_refuses_an_id_in_use_and_a_file_that_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runbooks = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, runbooks)
    before = sorted(p.name for p in runbooks.iterdir())
    assert main(["new", "RUN-001", "Pool exhausted again", "--dir", str(runbooks)]) == 1
    assert capsys.readouterr().err == (
        f"{runbooks}: RUN-001 is already used in "
        f"{runbooks}/RUN-001-database-connection-pool-exhaustion.md:1\n"
    )
    assert main(["new", "run-13", "Disks", "--dir", str(runbooks)]) == 1  # a second entry's id
    assert capsys.readouterr().err == (
        f"{runbooks}: RUN-013 is already used in {runbooks}/storage-procedures.md:1\n"
    )
    (runbooks / "RUN-020-redis.md").write_text("# RUN-021: Redis\n", encoding="utf-8")
    assert main(["new", "RUN-020", "Redis", "--dir", str(runbooks)]) == 1
    assert capsys.readouterr().err == f"{runbooks}/RUN-020-redis.md: already exists\n"
    assert main(["new", "REDIS-1", "Redis", "--dir", str(runbooks)]) == 1
    assert capsys.readouterr().err == "REDIS-1: not a RUN- id (e.g. RUN-015)\n"
    assert main(["new", "RUN-030", "Redis", "--dir", str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().err == f"{tmp_path / 'nowhere'}: runbooks folder not found\n"
    assert sorted(p.name for p in runbooks.iterdir()) == sorted([*before, "RUN-020-redis.md"])


def test_route_links_follow_router_public_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = tmp_path / "routes.yaml"
    shipped = (ROOT / "routes.yaml").read_text(encoding="utf-8")
    assert 'runbook_url: "{public_url}/runbooks/{id}"' in shipped
    routes.write_text(
        'defaults: {runbook_url: "{public_url}/runbooks/{id}"}\n'
        "routes:\n  - matchers: ['alertname=\"DatabaseConnectionPoolHigh\"']\n"
        "    runbook: RUN-001\n",
        encoding="utf-8",
    )
    payload = str(GOLDEN / "sources/alertmanager/firing-single.json")
    args = ["route", payload, "--config", str(routes), "--runbooks", str(RUNBOOKS)]

    def link() -> str:
        assert main(args) == 0
        url: str = json.loads(capsys.readouterr().out)["alerts"][0]["decisions"][0]["runbook_url"]
        return url

    monkeypatch.delenv("ROUTER_PUBLIC_URL", raising=False)
    assert link() == "http://127.0.0.1:8080/runbooks/RUN-001"  # serve's default address
    monkeypatch.setenv("ROUTER_PUBLIC_URL", "https://router.example.com/")
    assert link() == "https://router.example.com/runbooks/RUN-001"


def test_a_wrong_variable_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROUTER_PUBLIC_URL", "router.example.com")
    monkeypatch.setenv("ROUTER_MAX_BODY_BYTES", "ten megabytes")
    assert main(["check", *ARGS]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "ROUTER_MAX_BODY_BYTES: Input should be a valid integer, unable to parse string as an "
        "integer",
        "ROUTER_PUBLIC_URL: expected an http:// or https:// address, got 'router.example.com'",
    ]


@pytest.fixture
def no_logging_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    """serve configures process-wide logging; these tests stop before it would matter."""
    monkeypatch.setattr("router.cli.logs.configure", lambda *args: None)


@pytest.mark.usefixtures("no_logging_setup")
def test_serve_on_a_port_in_use_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROUTER_DATABASE_URL", f"sqlite:///{tmp_path}/router.db")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"serve: cannot listen on http://127.0.0.1:{port}: Address already in use"
    ]


@pytest.mark.usefixtures("no_logging_setup")
def test_serve_with_bad_routes_says_it_did_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROUTER_CONFIG", str(tmp_path / "missing.yaml"))
    assert main(["serve", "--port", "0"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path}/missing.yaml: cannot read: No such file or directory",
        "serve: not started: 1 problem(s)",
    ]


@pytest.mark.usefixtures("no_logging_setup")
def test_serve_on_a_newer_database_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/router.db"
    store = Store.from_url(url)
    store.create_schema()
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    store.engine.dispose()
    monkeypatch.setenv("ROUTER_DATABASE_URL", url)
    monkeypatch.setenv("ROUTER_CONFIG", str(ROUTES))
    monkeypatch.setenv("ROUTER_RUNBOOKS", str(RUNBOOKS))
    assert main(["serve", "--port", "0"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("serve: refusing to start: the database is at schema revision 9999")


def test_demo_without_a_router_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert main(["demo", "--url", f"http://127.0.0.1:{port}"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"demo: cannot reach http://127.0.0.1:{port}: Connection refused (is the router running?)"
    ]


def test_check_covers_alertmanagers_and_silence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        ROUTES.read_text(encoding="utf-8") + "\nalertmanagers:\n"
        "  - {name: prod, url: 'http://am-0:9093,http://am-1:9093', token_env: AM_PROD_TOKEN}\n"
        "silence: {allow: []}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("ALERTMANAGER_URL", "http://other:9093")
    monkeypatch.delenv("AM_PROD_TOKEN", raising=False)
    assert main(["check", "--config", str(routes), "--runbooks", str(RUNBOOKS)]) == 0
    out, err = capsys.readouterr()
    assert "Alertmanager APIs: prod (2 URL(s))" in out
    assert err.splitlines() == [
        "alertmanagers: prod: token_env AM_PROD_TOKEN is not set (warning)",
        "ALERTMANAGER_URL is not used: an alertmanagers: entry without external_url claims "
        "every Alertmanager alert (warning)",
        "silence.allow is empty: nobody may silence from Slack (warning)",
    ]
    monkeypatch.setenv("ALERTMANAGER_URL", "alertmanager:9093")
    assert main(["check", *ARGS]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "ALERTMANAGER_URL: url 'alertmanager:9093': expected an http:// or https:// URL",
        "check failed: 1 problem(s)",
    ]
