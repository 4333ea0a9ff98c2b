from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from router.errors import ConfigError
from router.runbooks import load_catalog, parse_runbook
from router.runbooks.model import CATEGORIES
from router.runbooks.parser import parse_entries, referenced_runbooks
from tests.helpers import GOLDEN, ROOT, RUNBOOKS, check_golden

SHIPPED = sorted((RUNBOOKS).glob("*.md"))
SEED_LAYOUT = ROOT / "tests" / "fixtures" / "seed-layout"


def check_entries_golden(path: Path, folder: Path) -> list[str]:
    """Each entry of one file against ``folder/<id>.json``; the ids, in file order."""
    ids = []
    for runbook, problems in parse_entries(path.read_text(encoding="utf-8"), path.name):
        assert problems == []
        assert runbook is not None
        dumped = json.dumps(runbook.model_dump(mode="json"), indent=2, ensure_ascii=False)
        check_golden(folder / f"{runbook.id}.json", dumped + "\n")
        ids.append(runbook.id)
    return ids


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem[:7] for p in SHIPPED])
def test_shipped_runbooks_parse_to_their_golden_output(path: Path) -> None:
    assert check_entries_golden(path, GOLDEN / "runbooks")


def test_shipped_example_of_the_format_layout_holds_two_entries() -> None:
    """Plain title lines, entries separated by ---, Commands:/Verification: blocks."""
    path = RUNBOOKS / "storage-procedures.md"
    assert not path.read_text(encoding="utf-8").startswith("#")
    assert check_entries_golden(path, GOLDEN / "runbooks") == ["RUN-013", "RUN-014"]


def test_the_formats_own_examples_parse_as_written() -> None:
    """The two example entries of the RUN- format document, verbatim: escaped fences too."""
    path = SEED_LAYOUT / "seed-examples.md"
    assert check_entries_golden(path, GOLDEN / "runbooks-seed-layout") == ["RUN-001", "RUN-002"]
    catalog = load_catalog(SEED_LAYOUT)
    first = catalog.get("RUN-001")
    assert first is not None
    assert [len(s.commands) for s in first.steps] == [1, 1, 1, 0]
    assert first.steps[0].commands[0].language == "sql"
    assert first.lines["title"] == 1
    second = catalog.get("RUN-002")
    assert second is not None
    assert second.lines["title"] == 59  # the line in the file, after the --- separator
    assert second.post_incident[0] == "Post deployment success to #deployments"


def test_title_line_with_its_header_fields_on_the_same_line() -> None:
    text = "RUN-031: Cache warmup Category: Maintenance Owner: Cache Team Last Tested: 2026-11-01\n"
    ((runbook, problems),) = parse_entries(text, "x.md")
    assert problems == []
    assert runbook is not None
    assert (runbook.title, runbook.category, runbook.owner, runbook.last_tested) == (
        "Cache warmup",
        "Maintenance",
        "Cache Team",
        date(2026, 11, 1),
    )


def test_a_thematic_break_inside_an_entry_does_not_start_another() -> None:
    text = "# RUN-5: A\nOwner: x\n\n---\n\n## Procedure\n### Step 1: Do\nVerification: ok\n"
    entries = parse_entries(text, "x.md")
    assert [rb.id for rb, _ in entries if rb] == ["RUN-5"]
    assert entries[0][0] is not None
    assert [s.title for s in entries[0][0].steps] == ["Do"]


def test_a_run_id_inside_a_fence_or_a_sentence_is_not_a_title() -> None:
    text = (
        "# RUN-6: A\n## Procedure\n### Step 1: Read\n```\nRUN-7: not a title\n```\n"
        "RUN-8: mentioned in passing, in a paragraph\n"
    )
    assert [rb.id for rb, _ in parse_entries(text, "x.md") if rb] == ["RUN-6"]


def test_shipped_runbooks_cover_every_category_and_are_complete() -> None:
    catalog = load_catalog(RUNBOOKS)
    assert len(catalog) >= 10
    assert {rb.category for rb in catalog} == set(CATEGORIES)
    ids = {rb.id for rb in catalog}
    for rb in catalog:
        required: list[object] = [rb.owner, rb.last_tested, rb.trigger, rb.scope_handles]
        required += [
            rb.scope_not_handles,
            rb.escalation.when,
            rb.escalation.who,
            rb.do_not,
            rb.steps,
        ]
        for value in required:
            assert value, rb.id
        assert all(step.verification for step in rb.steps), rb.id
        assert referenced_runbooks(rb) <= ids, rb.id


def test_catalog_lookup_is_case_and_padding_insensitive() -> None:
    catalog = load_catalog(RUNBOOKS)
    first = catalog.get("RUN-001")
    assert first is not None
    assert catalog.get("run-1") is first
    assert catalog.get(" RUN-0001 ") is first
    assert catalog.get("RUN-404") is None
    assert catalog.get("nonsense") is None


TOLERANT = """\
Some preamble the parser skips.

## run-42 - Redis memory pressure

**Category**: maintenance
**Owner**: Cache Team
**Last Tested**: 2026-09-01 (game day)

### Do Not
* Do not run `FLUSHALL`

#### Escalation
- **Who to contact**: #cache-oncall
- Page the cache lead if eviction rate keeps rising

# Procedure

1. Check memory: look at used_memory first
   ```
   redis-cli INFO memory
   ```
   - [ ] used_memory below maxmemory
2. Find big keys
   ```sh
   redis-cli --bigkeys
   ```
   Verify: the largest keys are known

## Scope
- Handles: memory pressure on the cache
- Does not handle: cluster failover
"""


def test_parser_tolerates_order_heading_levels_and_numbered_steps() -> None:
    runbook, problems = parse_runbook(TOLERANT, "run-42.md")
    assert problems == []
    assert runbook is not None
    assert (runbook.id, runbook.title, runbook.category) == (
        "RUN-42",
        "Redis memory pressure",
        "Maintenance",
    )
    assert runbook.owner == "Cache Team"
    assert runbook.last_tested == date(2026, 9, 1)
    assert runbook.do_not == ["Do not run `FLUSHALL`"]
    assert runbook.escalation.who == "#cache-oncall"
    assert runbook.escalation.other == ["Page the cache lead if eviction rate keeps rising"]
    assert [(s.number, s.title) for s in runbook.steps] == [
        (1, "Check memory"),
        (2, "Find big keys"),
    ]
    first, second = runbook.steps
    assert first.text == ["look at used_memory first"]
    assert first.commands[0].code == "redis-cli INFO memory\n"
    assert first.verification == ["used_memory below maxmemory"]
    assert (second.commands[0].language, second.commands[0].line) == ("sh", 24)
    assert second.verification == ["the largest keys are known"]
    assert runbook.scope_handles == ["memory pressure on the cache"]
    assert runbook.scope_not_handles == ["cluster failover"]


def test_commands_keep_any_fence_language_and_all_fences_of_a_step() -> None:
    text = "# RUN-7: X\n## Procedure\n### Step 1: Do\nCommands:\n```sql\nSELECT 1;\n```\n~~~\nls\n~~~\n"
    runbook, _ = parse_runbook(text, "x.md")
    assert runbook is not None
    assert [(c.language, c.code) for c in runbook.steps[0].commands] == [
        ("sql", "SELECT 1;\n"),
        ("", "ls\n"),
    ]


def test_inline_verification_and_step_text() -> None:
    text = "# RUN-8: X\n## Procedure\n## Step 1 - Restart\nRestart it.\nVerification: pods ready\n"
    runbook, _ = parse_runbook(text, "x.md")
    assert runbook is not None
    step = runbook.steps[0]
    assert (step.title, step.text, step.verification) == (
        "Restart",
        ["Restart it."],
        ["pods ready"],
    )


def test_missing_title_is_a_problem_with_a_line() -> None:
    runbook, problems = parse_runbook("## Procedure\n### Step 1: x\n", "bad.md")
    assert runbook is None
    assert [str(p) for p in problems] == [
        'bad.md:1: title: no "RUN-nnn: Title" line (with or without "#")'
    ]


def test_bad_date_and_category_are_problems_with_lines() -> None:
    text = "# RUN-9: X\nCategory: Firefighting\nOwner: me\nLast Tested: last tuesday\n"
    runbook, problems = parse_runbook(text, "x.md")
    assert runbook is not None
    assert [str(p) for p in problems] == [
        "x.md:2: Category: 'Firefighting' is not one of Incident, Deployment, Maintenance, Recovery, Escalation",
        "x.md:4: Last Tested: 'last tuesday' is not a date (YYYY-MM-DD)",
    ]


def test_duplicate_ids_in_a_folder_are_reported_and_the_first_kept(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# RUN-001: A\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("\n# RUN-1: B\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("# Not a runbook\n", encoding="utf-8")
    catalog = load_catalog(tmp_path)
    assert [str(p) for p in catalog.problems] == [
        f"{tmp_path}/b.md:2: id: RUN-1 is already defined in {tmp_path}/a.md (as RUN-001)"
    ]
    runbook = catalog.get("RUN-1")
    assert runbook is not None
    assert runbook.title == "A"


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="runbooks folder not found"):
        load_catalog(tmp_path / "nope")


def test_staleness() -> None:
    runbook, _ = parse_runbook("# RUN-1: X\nLast Tested: 2026-01-01\n", "x.md")
    assert runbook is not None
    assert runbook.is_stale(date(2026, 6, 1), 90)
    assert not runbook.is_stale(date(2026, 2, 1), 90)
    untested, _ = parse_runbook("# RUN-2: Y\n", "y.md")
    assert untested is not None
    assert untested.is_stale(date(2026, 2, 1), 90)
