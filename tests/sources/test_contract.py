"""Every registered source keeps golden payloads and their expected normalized alerts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.alert import Alert
from router.sources import SOURCES
from tests.helpers import check_golden, payloads

MIN_GOLDENS = 5


def normalized(alerts: list[Alert]) -> str:
    dumped = [a.model_dump(mode="json", exclude={"raw"}) for a in alerts]
    return json.dumps(dumped, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_source_has_golden_payloads(source: str) -> None:
    found = payloads(source)
    assert len(found) >= MIN_GOLDENS, f"{source}: {len(found)} golden payloads, need {MIN_GOLDENS}"
    for path in found:
        assert path.with_name(path.stem + ".expected.json").exists(), (
            f"{path.name} has no .expected.json"
        )


CASES = [(s, p) for s in sorted(SOURCES) for p in payloads(s)]


@pytest.mark.parametrize(("source", "path"), CASES, ids=[f"{s}/{p.stem}" for s, p in CASES])
def test_golden_payload_normalizes_as_expected(source: str, path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    before = json.dumps(data, sort_keys=True)
    alerts = SOURCES[source].parse(data)
    assert json.dumps(data, sort_keys=True) == before, "the parser must not mutate its input"
    assert all(a.source == source for a in alerts)
    check_golden(path.with_name(path.stem + ".expected.json"), normalized(alerts))
