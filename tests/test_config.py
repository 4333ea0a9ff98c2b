from __future__ import annotations

from pathlib import Path

import pytest

from router.config import parse_routes
from router.config_values import parse_duration
from router.decide import load_ruleset
from router.errors import ConfigError
from tests.conftest import GOLDEN, ROUTES, RUNBOOKS

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
