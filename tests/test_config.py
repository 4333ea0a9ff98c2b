from __future__ import annotations

import re
from pathlib import Path

import pytest

from router.cli import main
from router.config import parse_routes
from router.config_values import parse_duration
from router.decide import load_ruleset
from router.errors import ConfigError
from router.routing import RouteTable
from tests.helpers import GOLDEN, ROOT, ROUTES, RUNBOOKS, make_alert

BAD = sorted((GOLDEN / "config").glob("*.yaml"))


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_configs_give_the_exact_errors(path: Path) -> None:
    """Golden bad configs pin the error text, file:line: key: message."""
    expected = (
        path.with_suffix(".err")
        .read_text(encoding="utf-8")
        .strip()
        .replace("{dir}", str(path.parent))
    )
    with pytest.raises(ConfigError) as caught:
        load_ruleset(path, RUNBOOKS)
    assert str(caught.value) == expected


def test_there_are_golden_bad_configs() -> None:
    assert len(BAD) >= 6


def test_shipped_routes_file_is_valid() -> None:
    ruleset = load_ruleset(ROUTES, RUNBOOKS)
    assert ruleset.config.data.defaults.channel == "#alerts"
    assert len(ruleset.table.routes) > 10


def test_defaults_when_sections_are_missing() -> None:
    config = parse_routes("routes: []\n").data
    assert config.defaults.channel == "#alerts"
    assert config.severity.default == "SEV2"
    assert config.severity.levels["SEV4"].respond == "best effort"
    assert config.auth == {}


def test_empty_file_is_all_defaults() -> None:
    assert parse_routes("").data.routes == []


def test_alertmanager_label_map_shorthand() -> None:
    text = "severity:\n  from_source:\n    alertmanager: {label: level, map: {p1: SEV0}}\n"
    assert parse_routes(text).data.severity.from_source["alertmanager"] == {"level": {"p1": "SEV0"}}


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1d", 86400), ("500ms", 0.5), (90, 90)],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["5 minutes", "m5", "", "5M", True])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_source_url_links_an_entry_at_a_line(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        'defaults: {source_url: "https://github.com/org/rb/blob/main/{path}#L{line}?id={id}"}\n'
    )
    ruleset = load_ruleset(routes, RUNBOOKS)
    runbook = ruleset.catalog.get("RUN-001")
    assert runbook is not None
    path = "RUN-001-database-connection-pool-exhaustion.md"
    assert (
        ruleset.source_url(runbook) == f"https://github.com/org/rb/blob/main/{path}#L1?id=RUN-001"
    )
    assert (
        ruleset.source_url(runbook, 27)
        == f"https://github.com/org/rb/blob/main/{path}#L27?id=RUN-001"
    )
    assert load_ruleset(ROUTES, RUNBOOKS).source_url(runbook) is None  # not set: no link


# -- Alertmanager route trees as written ---------------------------------------------


def test_match_values_are_the_text_as_written() -> None:
    """Alertmanager reads the scalar's text: 2 is "2", 1.50 is "1.50", true is "true"."""
    config = parse_routes(
        "routes:\n"
        "  - match: {test: 2, price: 1.50, flag: true, hex: 0x1F, day: 2026-01-02, none: }\n"
        "    match_re: {code: 5.., n: 1_000}\n"
    )
    (route,) = config.data.routes
    assert route.match == {
        "test": "2",
        "price": "1.50",
        "flag": "true",
        "hex": "0x1F",
        "day": "2026-01-02",
        "none": "",
    }
    assert route.match_re == {"code": "5..", "n": "1_000"}


def test_keys_with_no_value_read_as_empty_as_alertmanager_reads_them() -> None:
    config = parse_routes(
        "routes:\n"
        "  - match:\n"
        "    receiver: '#all'\n"
        "    continue:\n"
        "    routes:\n"
        "    group_by:\n"
        "    mute_time_intervals:\n"
    )
    (route,) = config.data.routes
    assert (route.match, route.continue_, route.routes, route.group_by) == ({}, False, [], None)
    assert route.mute_time_intervals == []


def test_a_regex_with_no_value_is_refused_as_alertmanager_refuses_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_routes("routes:\n  - match_re:\n      invalid_label:\n", "r.yaml")
    assert str(caught.value) == (
        'r.yaml:3: routes[0].match_re: invalid regexp value for "invalid_label"'
    )


def test_match_label_names_are_checked_as_alertmanager_checks_them() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_routes("routes:\n  - match: {team-name: x}\n", "r.yaml")
    assert str(caught.value) == 'r.yaml:2: routes[0].match: invalid label name "team-name"'


def test_timing_keys_are_accepted_with_one_note() -> None:
    config = parse_routes(
        "routes:\n"
        "  - receiver: '#a'\n"
        "    group_by: ['alertname', 'cluster']\n"
        "    group_wait: 30s\n"
        "    group_interval: 5m\n"
        "    repeat_interval: 1d\n"
        "    routes:\n"
        "      - {match: {team: db}, group_by: [...], repeat_interval: 1h30m}\n",
        "r.yaml",
    )
    (note,) = config.notes
    assert str(note) == (
        "r.yaml:3: routes[0].group_by: Alertmanager's grouping and timing (group_by, group_wait, "
        "group_interval, repeat_interval) is accepted as written here and on 1 more route, and "
        "changes nothing: Alertmanager groups and times its notifications before they reach "
        "the router, which groups them by the webhook's groupKey"
    )
    assert config.data.routes[0].repeat_interval == 86400.0
    assert config.data.routes[0].routes[0].repeat_interval == 5400.0


@pytest.mark.parametrize(
    ("route", "error"),
    [
        ("{group_wait: 30}", "routes[0].group_wait: not a valid duration string: '30'"),
        ("{group_wait: 5m1h}", "routes[0].group_wait: not a valid duration string: '5m1h'"),
        ("{group_interval: 0}", "routes[0]: group_interval cannot be zero"),
        ("{repeat_interval: 0s}", "routes[0]: repeat_interval cannot be zero"),
        ("{group_by: [a, a]}", 'routes[0].group_by: duplicated label "a" in group_by'),
        (
            "{group_by: ['...', a]}",
            "routes[0].group_by: cannot have wildcard group_by (`...`) and other labels "
            "at the same time",
        ),
    ],
)
def test_timing_keys_are_checked_as_alertmanager_checks_them(route: str, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_routes(f"routes:\n  - {route}\n", "r.yaml")
    assert str(caught.value) == f"r.yaml:2: {error}"


def test_receivers_name_channels_and_are_inherited_like_channel() -> None:
    config = parse_routes(
        """
receivers:
  db-team: "#db-oncall"
  db-pager: "#db-oncall"     # several receivers may post to one channel
routes:
  - receiver: db-team
    matchers: ['team="db"']
    routes:
      - matchers: ['severity="critical"']
        receiver: db-pager
      - matchers: ['env="dev"']
        receiver: '#db-dev'   # a receiver starting with # is a channel
      - matchers: ['env="stage"']
"""
    )
    table = RouteTable.from_config(config.data.routes, config.data.receivers)

    def channels(key: str, value: str) -> list[str | None]:
        alert = make_alert(team="db")
        alert = alert.model_copy(update={"labels": alert.labels | {key: value}})
        return [r.channel for r in table.match(alert)]

    assert channels("severity", "critical") == ["#db-oncall"]
    assert channels("env", "dev") == ["#db-dev"]
    assert channels("env", "stage") == ["#db-oncall"]  # inherited from the parent's receiver


def test_time_interval_names_can_come_from_the_older_top_level_key() -> None:
    config = parse_routes(
        "mute_time_intervals:\n"
        "  - name: weekends\n"
        "    time_intervals: [{weekdays: [saturday, sunday]}]\n"
        "routes:\n"
        "  - {receiver: '#a', mute_time_intervals: [weekends]}\n"
    )
    assert list(config.intervals) == ["weekends"]


def test_an_unquoted_channel_in_receivers_is_a_comment_and_says_so() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_routes("receivers:\n  team: #team\n", "r.yaml")
    assert "quoted: an unquoted # begins a YAML comment" in str(caught.value)


def test_check_prints_the_timing_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  - {receiver: '#a', group_by: [alertname]}\n", "utf-8")
    assert main(["check", "--config", str(routes), "--runbooks", str(RUNBOOKS)]) == 0
    assert "routes[0].group_by: Alertmanager's grouping and timing" in capsys.readouterr().err


def test_the_readme_pastes_a_route_tree_and_time_intervals_that_check_accepts(
    tmp_path: Path,
) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("### Pasting an Alertmanager route tree")[1].split("\n## ")[0]
    tree, intervals = re.findall(r"```yaml\n(.*?)```", section, re.S)
    routes = tmp_path / "routes.yaml"
    routes.write_text(tree + intervals, "utf-8")
    ruleset = load_ruleset(routes, RUNBOOKS)
    (route,) = ruleset.table.routes
    assert [c.channel for c in route.children] == ["#db-oncall", "#web"]
    assert route.children[0].matchers[1].value == "3"  # retries: 3, as written


def test_oncall_entries() -> None:
    text = """
oncall:
  db-primary: {pagerduty: {schedule: PABC123}}
  dba: {pagerduty: {escalation_policy: PDEF456}}
  platform: {rotation: {start: "2026-11-02 09:00 Europe/Berlin", every: 1w, people: [U01AAA, W02BBB]}}
severity:
  levels:
    SEV0: {respond: now, mention: "<!subteam^S0INCIDENT> oncall:platform"}
    SEV1: {respond: "< 5 min", mention: oncall:db-primary}
    SEV2: {respond: "< 15 min"}
    SEV3: {respond: "< 1 hour"}
    SEV4: {respond: best effort}
routes:
  - {name: db, escalate_to: "<!subteam^S0DBA>, then oncall:dba"}
"""
    oncall = parse_routes(text).data.oncall
    assert oncall["db-primary"].pagerduty is not None
    assert oncall["db-primary"].pagerduty.schedule == "PABC123"
    rotation = oncall["platform"].rotation
    assert rotation is not None
    assert rotation.every == 7 * 86400
    assert str(rotation.start.tzinfo) == "Europe/Berlin"
    assert rotation.start.hour == 9
    assert rotation.people == ["U01AAA", "W02BBB"]
